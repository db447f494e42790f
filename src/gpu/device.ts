/** Finding an adapter and a device: the only place that looks at navigator.gpu. */
import { WebGPUUnavailableError } from '../errors.ts';
import { isSoftwareAdapter, requiredLimits } from './quirks.ts';

export interface GpuDeviceInfo {
  /** Held for the backend's lifetime: Dawn's node binding shuts down when its GPU object is collected. Null for a device the app passed in (the app holds its GPU). */
  readonly gpu: GPU | null;
  readonly device: GPUDevice;
  readonly adapterName: string;
  readonly isSoftware: boolean;
  /** The device records timestamp queries (pg.profile's kernel times). */
  readonly timestamps: boolean;
  /** The engine requested the device, so shutting down destroys it; false for one the app passed to pg.init({ device }). */
  readonly owned: boolean;
}

const adapterLabel = (info: GPUAdapterInfo | undefined): string =>
  (info ? [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') : '') || 'unknown adapter';

export async function requestGpuDevice(gpu: GPU | undefined, powerPreference?: GPUPowerPreference): Promise<GpuDeviceInfo> {
  const g = gpu ?? (typeof navigator !== 'undefined' ? (navigator as Navigator & { gpu?: GPU }).gpu : undefined);
  if (!g) throw new WebGPUUnavailableError('no-navigator-gpu');
  const adapter = await g.requestAdapter(powerPreference ? { powerPreference } : undefined);
  if (!adapter) throw new WebGPUUnavailableError('no-adapter');
  const timestamps = adapter.features.has('timestamp-query');
  const wanted: GPUFeatureName[] = [];
  if (timestamps) wanted.push('timestamp-query');
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits: requiredLimits(adapter), requiredFeatures: wanted });
  } catch (e) {
    throw new WebGPUUnavailableError('no-device', String(e));
  }
  const info = adapter.info;
  return { gpu: g, device, adapterName: adapterLabel(info), isSoftware: isSoftwareAdapter(info, adapter), timestamps, owned: true };
}

/**
 * An app's own device (pg.init({ device })): used with the limits and features it was created
 * with, and never destroyed by the engine. device.adapterInfo (Chrome 131+, Dawn) names the adapter.
 */
export function adoptGpuDevice(device: GPUDevice): GpuDeviceInfo {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return {
    gpu: null,
    device,
    adapterName: adapterLabel(info),
    isSoftware: info ? isSoftwareAdapter(info, null) : false,
    timestamps: device.features.has('timestamp-query'),
    owned: false,
  };
}
