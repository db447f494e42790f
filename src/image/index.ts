// Image input and output; filled in by the image change.
export {};
