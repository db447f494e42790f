/** Image work: per-pixel palette mixing, its loss, and moving pixels between images and tensors. */
export { colorMix, type ColorMixAttrs, type ColorMixOptions } from '../ops/color-mix.ts';
export { mseLoss, type MseLossAttrs } from '../ops/mse-loss.ts';
export { fromImage, type FromImageOptions, type ImageSource } from './from-image.ts';
export { toCanvas } from './to-canvas.ts';
export { toImageData } from './to-image-data.ts';
