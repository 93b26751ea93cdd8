import { it } from 'vitest';
import { globalStart } from '../src/solver/global-start.js';
import { currentKernels } from '../src/solver/kernels.js';
import { NO_STOP } from '../src/solver/stop.js';
import { issueProblem } from './helpers/issue8-problems.js';
import { hiddenCellProblem, relativeError } from './helpers/hidden-cell.js';
it('try', () => {
  const probs: any[] = [1,2,3].map(seed => ({ name: 'cauchy'+seed, ...issueProblem('cauchy-rows', seed), signs: new Int8Array(5000).fill(1) }));
  for (const c of [{ n: 2000, d: 10, seed: 4, rows: 'cauchy' }, { n: 20000, d: 20, seed: 11, rows: 'cauchy', negative: 0.5 }, { n: 5000, d: 100, seed: 12 }, { n: 5000, d: 100, seed: 13, rows: 't3' }, { n: 100000, d: 20, seed: 14, negative: 0.4 }, { n: 3000, d: 30, seed: 15, rows: 'cauchy' }])
    probs.push({ name: JSON.stringify(c), ...hiddenCellProblem(c as any) });
  for (const { name, problem, xStar, signs } of probs) {
    const t = performance.now();
    const g = globalStart(problem, currentKernels(), NO_STOP);
    console.log('RES', name, g ? `err ${relativeError(g.x, xStar).toExponential(2)} passes ${g.weightPasses} res ${g.weightResidual.toExponential(1)} wrong ${g.signs.filter((s,i)=>s!==signs[i]).length} ${g.ambiguity?.slice(0,30) ?? ''}` : 'undefined', (performance.now()-t).toFixed(0),'ms');
  }
}, 600000);
