// Filled in by the op's own change; registered through src/ops/all.ts.
export {};
