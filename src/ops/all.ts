// Importing this module registers every op (each module calls defineOp when it loads).
import './elementwise.ts';
import './reduce.ts';
import './matmul.ts';
import './softmax.ts';
import './shape-ops.ts';
import './concat.ts';
import './color-mix.ts';
import './mse-loss.ts';
import './color-mix-loss.ts';
