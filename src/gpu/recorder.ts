/**
 * Records dispatches into one command encoder and one compute pass, and submits only when the
 * backend flushes (a readback, the end of the task that ran backward()/step(), the start of the
 * next step in a loop of steps) or after a bounded number of dispatches. Kernel parameters go
 * into one uniform ring buffer written at most once per submit and bound with dynamic offsets, so no
 * dispatch creates a buffer or a bind group.
 */
import type { KernelTimer } from './kernel-timer.ts';
import { MAX_PARAMS, UNIFORM_SLOT_BYTES, bufferUsage } from './quirks.ts';

/** Dispatches per submit: keeps the GPU fed and bounds the work lost to a validation error. */
const MAX_DISPATCHES_PER_SUBMIT = 1024;
const RING_SLOTS = 256;

/** Something that holds a GPU buffer, read when the command is recorded (a retried allocation replaces it). */
interface HasBuffer {
  readonly buffer: GPUBuffer;
}

/** A recorded command, kept until its batch is submitted so the batch can be recorded again. */
type Command =
  | { readonly pipeline: GPUComputePipeline; readonly bindGroup: GPUBindGroup; readonly rebind: (() => GPUBindGroup) | null; readonly offset: number; readonly x: number; readonly y: number }
  | { readonly src: HasBuffer; readonly dst: HasBuffer; readonly bytes: number; readonly dstOffset: number };

export class Recorder {
  readonly ring: GPUBuffer;
  private readonly staging = new Float32Array((RING_SLOTS * UNIFORM_SLOT_BYTES) / 4);
  /** What the ring holds on the GPU: a batch whose params are already there skips its write. */
  private readonly onGpu = new Float32Array((RING_SLOTS * UNIFORM_SLOT_BYTES) / 4);
  private onGpuFloats = 0;
  /** Ring writes: one per submit whose params differ from what the ring holds. */
  paramWrites = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private slots = 0;
  private recorded = 0;
  /** The open batch's commands, for rerecord(). */
  private log: Command[] = [];
  /** Whether every command of the open batch can rebuild its bind group (see rerecord). */
  private rebindable = true;
  /** Id of the batch being recorded; a buffer bound in it is not safe to write through the queue. */
  batch = 1;
  dispatches = 0;
  submits = 0;
  /** Set by pg.profile(): each dispatch then gets a pass of its own, timed where the device can. */
  timer: KernelTimer | null = null;

  constructor(private readonly device: GPUDevice) {
    this.ring = device.createBuffer({ size: RING_SLOTS * UNIFORM_SLOT_BYTES, usage: bufferUsage().uniform, label: 'pixelgrad params ring' });
  }

  get pending(): boolean {
    return this.recorded > 0 || this.encoder !== null;
  }

  private openPass(): GPUComputePassEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    return this.pass;
  }

  /** A pass for one dispatch, whose beginning and end write timestamps (pg.profile). */
  private openTimedPass(timestampWrites: GPUComputePassTimestampWrites): GPUComputePassEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (this.pass) this.pass.end();
    this.pass = this.encoder.beginComputePass({ timestampWrites });
    return this.pass;
  }

  /**
   * Records a dispatch; returns the batch it landed in (a full ring submits the batch before it).
   * `rebind` builds the bind group again from the buffers' current GPU buffers; without it the
   * batch cannot be recorded again.
   */
  dispatch(pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, params: readonly number[] | undefined, x: number, y: number, rebind: (() => GPUBindGroup) | null = null): number {
    let offset = 0;
    if (params?.length) {
      if (params.length > MAX_PARAMS) throw new Error(`internal: ${params.length} kernel params, max ${MAX_PARAMS}`);
      if (this.slots === RING_SLOTS) this.flush();
      const base = (this.slots * UNIFORM_SLOT_BYTES) / 4;
      for (let i = 0; i < params.length; i++) this.staging[base + i] = params[i]!;
      offset = this.slots * UNIFORM_SLOT_BYTES;
      this.slots++;
    }
    const batch = this.batch;
    const writes = this.timer?.next(pipeline.label);
    this.encodeDispatch(pipeline, bindGroup, offset, x, y, writes);
    this.log.push({ pipeline, bindGroup, rebind, offset, x, y });
    // A timed batch is not recorded again: its timestamp slots were handed out once (pg.profile).
    if (!rebind || writes) this.rebindable = false;
    this.dispatches++;
    if (++this.recorded >= MAX_DISPATCHES_PER_SUBMIT) this.flush();
    return batch;
  }

  private encodeDispatch(pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, offset: number, x: number, y: number, writes?: GPUComputePassTimestampWrites): void {
    const pass = writes ? this.openTimedPass(writes) : this.openPass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup, [offset]);
    pass.dispatchWorkgroups(x, y);
    if (writes) {
      pass.end();
      this.pass = null;
    }
  }

  /** A buffer-to-buffer copy; ends the open pass (copies live outside passes). */
  copy(src: HasBuffer, dst: HasBuffer, bytes: number, dstOffset = 0): void {
    this.encodeCopy(src, dst, bytes, dstOffset);
    this.log.push({ src, dst, bytes, dstOffset });
    this.recorded++;
  }

  private encodeCopy(src: HasBuffer, dst: HasBuffer, bytes: number, dstOffset: number): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(src.buffer, 0, dst.buffer, dstOffset, bytes);
  }

  /** The open batch cannot be recorded again: its buffers changed hands after a dispatch (a double-buffered update). */
  pin(): void {
    this.rebindable = false;
  }

  /** Whether rerecord() can record the open batch again. */
  get canRerecord(): boolean {
    return this.rebindable;
  }

  /**
   * Drops the open batch's encoder unsubmitted and records its commands again, with bind groups
   * and copies built from the buffers as they are now: after a failed allocation was retried, the
   * batch binds the new buffer instead of the invalid one. The params stay where they were.
   */
  rerecord(): void {
    if (!this.rebindable) throw new Error('internal: rerecord() of a batch with a bind group it cannot rebuild');
    // Dropped unfinished: an encoder never submitted has no effect.
    this.encoder = null;
    this.pass = null;
    for (const c of this.log) {
      if ('src' in c) this.encodeCopy(c.src, c.dst, c.bytes, c.dstOffset);
      else this.encodeDispatch(c.pipeline, c.rebind!(), c.offset, c.x, c.y);
    }
  }

  private ringHolds(floats: number): boolean {
    if (floats > this.onGpuFloats) return false;
    const a = this.staging;
    const b = this.onGpu;
    // Object.is: a NaN param equals a NaN, and -0 differs from 0.
    for (let i = 0; i < floats; i++) if (!Object.is(a[i], b[i])) return false;
    return true;
  }

  flush(): void {
    if (!this.encoder) return;
    if (this.pass) this.pass.end();
    this.pass = null;
    const timed = this.timer?.resolve(this.encoder) ?? null;
    // The ring write is queued after every earlier submit and before this one, so each batch sees
    // its own params. A step whose params repeat the last batch's (plain SGD, a constant lr) needs
    // none: on SwiftShader a write per step cost the layers step at S=256 0.04-0.28 ms (of 3-4).
    const floats = (this.slots * UNIFORM_SLOT_BYTES) / 4;
    if (floats && !this.ringHolds(floats)) {
      this.device.queue.writeBuffer(this.ring, 0, this.staging, 0, floats);
      this.onGpu.set(this.staging.subarray(0, floats));
      this.onGpuFloats = Math.max(this.onGpuFloats, floats);
      this.paramWrites++;
    }
    this.device.queue.submit([this.encoder.finish()]);
    timed?.();
    this.submits++;
    this.encoder = null;
    this.pass = null;
    this.slots = 0;
    this.recorded = 0;
    this.log = [];
    this.rebindable = true;
    this.batch++;
  }

  /** Frees the params ring (shutdown on a device the engine does not own). */
  destroy(): void {
    this.ring.destroy();
  }
}
