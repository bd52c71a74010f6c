import { loadBenchConfig } from './config';
import { measureHttp } from './http';
import { measureScale } from './scale';
const config = loadBenchConfig();
const what = process.argv[2] ?? 'http';
void (what === 'http' ? measureHttp(config, (l) => console.log(l)) : measureScale(config, (l) => console.log(l))).then((f) => console.log(JSON.stringify(f, (k, v) => (k === 'runs' ? undefined : v), 1)));
