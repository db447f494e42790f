/** Image work: per-pixel palette mixing and its losses, and moving pixels between images and tensors. */
export { hsvToRgb, labToRgb, linearToSrgb, rgbToHsv, rgbToLab, srgbToLinear } from './color-space.ts';
export { colorMix, colorMixLoss, type ColorMixOptions } from '../ops/color-mix.ts';
export { mseLoss } from '../ops/mse-loss.ts';
export { fromImage, type FromImageOptions, type ImageSource } from './from-image.ts';
export { type AnyCanvas, toCanvas } from './to-canvas.ts';
export { toImageData } from './to-image-data.ts';
export { resize, type ResizeOptions } from './resize.ts';
export { gaussianBlur, sobel, type GaussianBlurOptions } from './filters.ts';
