/** The bundled photos (demo/public/samples; credits in LICENSES.md there). */
export interface Sample {
  readonly id: string;
  readonly title: string;
  readonly url: string;
  readonly credit: string;
}

const base = import.meta.env.BASE_URL;

export const SAMPLES: readonly Sample[] = [
  { id: 'ladybird', title: 'Ladybird', url: `${base}samples/ladybird.jpg`, credit: 'Charles Barbin, GPL-2+' },
  { id: 'garden', title: 'Garden', url: `${base}samples/garden.jpg`, credit: 'Charles Barbin, GPL-2+' },
  { id: 'dune', title: 'Dune', url: `${base}samples/dune.jpg`, credit: 'Marco Cogoni, Hylke Bons, GPL-2+' },
];
