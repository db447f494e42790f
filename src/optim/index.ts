// Optimizers; filled in by the optimizer change.
export {};
