/** softmax and logSoftmax along one axis; both save only their output for backward. */
import { fill, kernelCache, section, wgslModule } from '../gpu/wgsl.ts';
import { InvalidArgumentError } from '../errors.ts';
import { type Shape, sizeOf } from '../shape.ts';
import src from '../../shaders/softmax.wgsl?raw';
import { defineOp, type OpDef } from './op.ts';

export interface SoftmaxAttrs {
  /** Normalized axis, 0..rank-1 (0 for a scalar). */
  readonly axis: number;
}

/** Rows along `axis`: each has `len` elements `stride` apart; row r starts at offset(r). */
function rowsOf(shape: Shape, axis: number) {
  const len = shape.length ? shape[axis]! : 1;
  const stride = sizeOf(shape.slice(axis + 1));
  const rows = len ? sizeOf(shape) / len : 0;
  return { len, stride, rows, offset: (r: number) => Math.floor(r / stride) * len * stride + (r % stride) };
}

function baseExpr(len: number, stride: number): string {
  if (stride === 1) return `r * ${len}u`;
  if (len === 1) return 'r';
  return `(r / ${stride}u) * ${len * stride}u + r % ${stride}u`;
}

const cached = kernelCache('softmax');
/** Longest row kept in registers (a palette has at most a few dozen colours). */
const MAX_REGISTER_ROW = 64;

type Kind = 'softmax' | 'logSoftmax';

function defineSoftmax(kind: Kind): OpDef<SoftmaxAttrs> {
  const prefix = kind === 'softmax' ? 'softmax' : 'log_softmax';
  const kernel = (pass: 'forward' | 'backward', shape: Shape, axis: number) => {
    const { len, stride, rows } = rowsOf(shape, axis);
    // Rows short enough for registers are read and written once; long rows stream through memory.
    const inRegisters = kind === 'softmax' && len > 0 && len <= MAX_REGISTER_ROW;
    const vec4 = inRegisters && stride === 1 && len % 4 === 0;
    const wgsl = cached(`${kind}:${pass}:${rows}:${len}:${stride}`, () => {
      const names = pass === 'forward' ? { inputs: ['x'], outputs: ['y'] } : { inputs: ['g_', 'y_'], outputs: ['dx'] };
      const types = vec4 ? Object.fromEntries([...names.inputs, ...names.outputs].map((n) => [n, 'vec4<f32>'])) : undefined;
      const name = `${prefix}_${pass}${vec4 ? '_vec4' : inRegisters ? '_rows' : ''}`;
      const vars = { ROWS: rows, L: len, Q: len / 4, STRIDE: stride, BASE: baseExpr(len, stride) };
      return wgslModule({ ...names, ...(types ? { types } : {}), threads: rows }, fill(section(src, name), vars));
    });
    return { wgsl, rows };
  };

  return defineOp<SoftmaxAttrs>({
    name: kind,
    arity: 1,
    shape([s], { axis }) {
      const rank = s!.length;
      if (!Number.isInteger(axis) || axis < 0 || axis >= Math.max(rank, 1)) {
        throw new InvalidArgumentError(`${kind}: axis ${axis} is out of range for a tensor of rank ${rank} (valid: ${-rank} to ${rank - 1})`);
      }
      return s!;
    },
    saves: () => ({ inputs: [false], output: true }),
    gpu: {
      forward(k, [x], out, { shapes, attrs }) {
        const { wgsl, rows } = kernel('forward', shapes[0]!, attrs.axis);
        k.run({ name: `${kind}_forward`, wgsl, threads: rows, inputs: [x!], outputs: [out] });
      },
      backward(k, { shapes, attrs, grad, output }) {
        const { wgsl, rows } = kernel('backward', shapes[0]!, attrs.axis);
        const dx = k.alloc(`${kind} backward`, shapes[0]!);
        k.run({ name: `${kind}_backward`, wgsl, threads: rows, inputs: [grad, output!], outputs: [dx] });
        return [dx];
      },
    },
    reference([x], { shapes, attrs }) {
      const { len, stride, rows, offset } = rowsOf(shapes[0]!, attrs.axis);
      const y = new Float64Array(x!.length);
      for (let r = 0; r < rows; r++) {
        const o = offset(r);
        let mx = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < len; j++) mx = Math.max(mx, x![o + j * stride]!);
        let sum = 0;
        for (let j = 0; j < len; j++) sum += Math.exp(x![o + j * stride]! - mx);
        const shift = mx + Math.log(sum);
        for (let j = 0; j < len; j++) {
          const v = x![o + j * stride]! - shift;
          y[o + j * stride] = kind === 'softmax' ? Math.exp(v) : v;
        }
      }
      return y;
    },
    referenceBackward({ shapes, attrs, grad, output }) {
      const { len, stride, rows, offset } = rowsOf(shapes[0]!, attrs.axis);
      const y = output!;
      const dx = new Float64Array(grad.length);
      for (let r = 0; r < rows; r++) {
        const o = offset(r);
        let s = 0;
        for (let j = 0; j < len; j++) s += kind === 'softmax' ? grad[o + j * stride]! * y[o + j * stride]! : grad[o + j * stride]!;
        for (let j = 0; j < len; j++) {
          const i = o + j * stride;
          dx[i] = kind === 'softmax' ? y[i]! * (grad[i]! - s) : grad[i]! - Math.exp(y[i]!) * s;
        }
      }
      return [dx];
    },
    testAttrs: [{ axis: 0 }, { axis: 1 }],
    testShapes(n) {
      const cols = Math.max(1, Math.round(n / 7));
      // [rows, 8] along axis 1 is the palette case (vec4 rows in registers).
      return [[[Math.max(1, Math.round(n / 17)), 17]], [[7, cols]], [[Math.max(1, Math.round(n / 2)), 2]], [[Math.max(1, Math.round(n / 8)), 8]]];
    },
  });
}

export const softmaxOp = defineSoftmax('softmax');
export const logSoftmaxOp = defineSoftmax('logSoftmax');
