// Renders Vega-Lite specs to SVG and PNG. Reads {name: spec} as JSON on stdin, writes
// <outDir>/<name>.svg and <outDir>/<name>.png (outDir = argv[2]), prints the written paths as JSON.
// A separate process because vega and vega-lite are ESM-only.
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { text } from 'node:stream/consumers';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import * as vl from 'vega-lite';

const outDir = process.argv[2];
if (!outDir) throw new Error('usage: node render-charts.mjs <outDir> < specs.json');
const specs = JSON.parse(await text(process.stdin));
await mkdir(outDir, { recursive: true });

const written = [];
for (const [name, spec] of Object.entries(specs)) {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) throw new Error(`chart name '${name}': letters, digits, '_' and '-' only`);
  let svg;
  try {
    const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
    svg = await view.toSVG();
    view.finalize();
  } catch (err) {
    throw new Error(`chart '${name}': ${err.message}`, { cause: err });
  }
  const png = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, fitTo: { mode: 'zoom', value: 2 } }).render().asPng();
  for (const [file, data] of [[`${name}.svg`, svg], [`${name}.png`, png]]) {
    const target = path.join(outDir, file);
    await writeFile(target, data);
    written.push(target);
  }
}
process.stdout.write(`${JSON.stringify(written)}\n`);
