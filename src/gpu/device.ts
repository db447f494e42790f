/** Finding an adapter and a device: the only place that looks at navigator.gpu. */
import { WebGPUUnavailableError } from '../errors.ts';
import { isSoftwareAdapter, requiredLimits } from './quirks.ts';

export interface GpuDeviceInfo {
  /** Held for the backend's lifetime: Dawn's node binding shuts down when its GPU object is collected. */
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly adapterName: string;
  readonly isSoftware: boolean;
  readonly subgroups: boolean;
}

export async function requestGpuDevice(gpu: GPU | undefined, powerPreference?: GPUPowerPreference): Promise<GpuDeviceInfo> {
  const g = gpu ?? (typeof navigator !== 'undefined' ? (navigator as Navigator & { gpu?: GPU }).gpu : undefined);
  if (!g) throw new WebGPUUnavailableError('no-navigator-gpu');
  const adapter = await g.requestAdapter(powerPreference ? { powerPreference } : undefined);
  if (!adapter) throw new WebGPUUnavailableError('no-adapter');
  const subgroups = adapter.features.has('subgroups');
  const wanted: GPUFeatureName[] = [];
  if (subgroups) wanted.push('subgroups' as GPUFeatureName);
  if (adapter.features.has('timestamp-query')) wanted.push('timestamp-query');
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits: requiredLimits(adapter), requiredFeatures: wanted });
  } catch (e) {
    throw new WebGPUUnavailableError('no-device', String(e));
  }
  const info = adapter.info;
  const adapterName = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  return { gpu: g, adapter, device, adapterName, isSoftware: isSoftwareAdapter(info, adapter), subgroups };
}
