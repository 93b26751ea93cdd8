/**
 * One job, live: its facts, loss and gradient-norm plots fed by the event stream (backfilled from the
 * recorded iterates first), and once done the recovered x against xStar and the leverage at x against the
 * target scores, where the page knows them (problems submitted from this tab), and for a problem the
 * page generated the cell the solver found against the generator's; cancel and delete.
 */
import { type Job, type Progress, ROUTES, type Route, routePath } from '../../src/client/browser.js';
import { cellText, compareCells } from './cell.js';
import { client } from './client.js';
import { $, clearStatus, el, short, showError, showStatus } from './dom.js';
import { applyEvent } from './job-events.js';
import { forget, recall } from './known.js';
import { destroyPlots, LogSeries, scatter } from './plots.js';

/** Iterates per request of the backfill (the API's most). */
const ITERATES_PAGE = 1000;

export class JobView {
  private controller: AbortController | undefined;
  private id: string | undefined;
  private job: Job | undefined;
  private loss: LogSeries | undefined;
  private grad: LogSeries | undefined;
  private iterateOffset = 0;
  private readonly section = $('#job');
  private readonly error = $('#job-error');

  /**
   * `onChange`: another job is open (or none); `onUpdate`: the open job as the page now has it, and as it
   * had it before (undefined when just opened).
   */
  constructor(
    private readonly onChange: (id: string | undefined) => void,
    private readonly onUpdate: (job: Job, before: Job | undefined) => void,
  ) {
    $('#job-cancel').addEventListener('click', () => void this.cancel());
    $('#job-delete').addEventListener('click', () => void this.remove());
  }

  get current(): string | undefined {
    return this.id;
  }

  close(): void {
    this.controller?.abort();
    this.controller = undefined;
    this.id = undefined;
    this.job = undefined;
    destroyPlots();
    this.section.hidden = true;
    this.onChange(undefined);
  }

  async open(id: string): Promise<void> {
    this.close();
    const controller = new AbortController();
    this.controller = controller;
    this.id = id;
    this.iterateOffset = 0;
    this.onChange(id);
    this.section.hidden = false;
    this.section.dataset.state = '';
    clearStatus(this.error);
    $('#job-id').textContent = id;
    $('#job-facts').replaceChildren();
    for (const sel of ['#plot-x', '#plot-lev'])
      $(sel).replaceChildren(el('p', { class: 'muted placeholder' }, 'when the job is done'));
    $('#plot-x-note').textContent = '';
    $('#plot-lev-note').textContent = '';
    this.renderLinks(id);
    this.loss = new LogSeries($('#plot-loss'), 'loss');
    this.grad = new LogSeries($('#plot-grad'), 'gradient norm');
    try {
      this.render(await client().get(id, { signal: controller.signal }));
      await this.backfill(controller.signal);
      if (!this.job?.done) await this.follow(controller.signal);
      if (controller.signal.aborted) return;
      await this.finish(controller.signal);
    } catch (error) {
      if (!controller.signal.aborted) showError(this.error, error);
    }
  }

  /** Every recorded iterate after the ones already plotted. */
  private async backfill(signal: AbortSignal): Promise<void> {
    const pages = client().iterates(this.id!, {
      offset: this.iterateOffset,
      pageSize: ITERATES_PAGE,
      signal,
    });
    for await (const page of pages) {
      for (const it of page.items) this.addPoint(it);
      this.iterateOffset = page.nextOffset;
    }
  }

  private addPoint(p: Progress): void {
    this.loss?.add(p.iteration, p.loss);
    this.grad?.add(p.iteration, p.gradNorm);
  }

  /**
   * The job's events until `done`. The client reopens a stream that breaks off (a restart, a proxy's
   * timeout) with Last-Event-ID, and throws a refusal (401, 404) or a stream that does not come back.
   */
  private async follow(signal: AbortSignal): Promise<void> {
    for await (const event of client().events(this.id!, { signal })) {
      if (event.type === 'progress') this.addPoint(event.data);
      if (this.job) this.render(applyEvent(this.job, event));
    }
  }

  /** The finished job: the rest of its iterates, its result and the plots of x and the scores. */
  private async finish(signal: AbortSignal): Promise<void> {
    const id = this.id!;
    const job = await client().get(id, { signal });
    if (signal.aborted) return;
    this.render(job);
    // Live, the plots had the throttled progress events; done, they show every recorded iterate.
    this.iterateOffset = 0;
    this.loss?.reset();
    this.grad?.reset();
    await this.backfill(signal);
    const result = job.result;
    if (!result) {
      for (const sel of ['#plot-x', '#plot-lev']) {
        $(sel).replaceChildren(el('p', { class: 'muted placeholder' }, `no result: the job ${job.state}`));
      }
      return;
    }
    const known = recall(id);

    if (known.xStar && known.xStar.length === result.x.length) {
      scatter($('#plot-x'), 'xStar', 'x', result.x, known.xStar);
      // a coordinate the API gives as null (not finite) makes the error NaN, not a small number
      const maxError = Math.max(
        ...result.x.map((v, j) => (v === null ? Number.NaN : Math.abs(v - known.xStar![j]))),
      );
      this.fact('max |x - xStar|', maxError.toExponential(3), 'max-x-error');
      $('#plot-x-note').textContent = 'each point is one coordinate; on the dashed line x equals xStar';
    } else {
      scatter($('#plot-x'), 'coordinate', 'x', result.x);
      $('#plot-x-note').textContent =
        result.relError === undefined
          ? 'no xStar: the problem did not carry one'
          : 'xStar was sent from elsewhere: its error is relError above';
    }
    if (known.sigma && known.sigma.length === result.leverage.length) {
      scatter($('#plot-lev'), 'target sigma', 'leverage at x', result.leverage, known.sigma);
      $('#plot-lev-note').textContent = 'each point is one row; on the dashed line the score is matched';
    } else {
      scatter($('#plot-lev'), 'row', 'leverage at x', result.leverage);
      $('#plot-lev-note').textContent =
        'the targets are known only for problems submitted from this tab: leverage by row (max |sigma(x) - sigma| is above)';
    }
    if (known.cell) await this.showCell(id, known.cell, signal);
  }

  /** The found cell (signs.npy: the JSON result leaves the signs out) against the generator's. */
  private async showCell(id: string, generator: number[], signal: AbortSignal): Promise<void> {
    let text: string;
    try {
      const found = await client().resultVector(id, 'signs', { signal });
      const comparison = compareCells(found, generator);
      text = comparison
        ? cellText(comparison)
        : `signs.npy has ${found.length} signs, not ${generator.length}: not compared`;
    } catch (error) {
      if (signal.aborted) return;
      // a result stored before the solver reported its cell has no signs (409): the rest still shows
      text = `not compared: ${(error as Error).message}`;
    }
    if (!signal.aborted) this.fact('cell', text, 'cell-match');
  }

  private fact(name: string, value: string, testId?: string): void {
    const facts = $('#job-facts');
    const existing = testId ? facts.querySelector(`[data-testid="${testId}"]`) : null;
    if (existing) {
      existing.textContent = value;
      return;
    }
    facts.append(el('div', {}, el('dt', {}, name), el('dd', testId ? { 'data-testid': testId } : {}, value)));
  }

  private render(job: Job): void {
    if (job.id !== this.id) return;
    const before = this.job;
    this.job = job;
    this.section.dataset.state = job.state;
    const badge = $('#job-state');
    badge.className = `state ${job.state}`;
    badge.textContent = job.state;
    // 'asked to stop' and the like are over once the job is
    if (job.done && this.error.classList.contains('ok')) clearStatus(this.error);
    $<HTMLButtonElement>('#job-cancel').disabled = job.done;
    $<HTMLButtonElement>('#job-delete').disabled = !job.done;
    const facts = $('#job-facts');
    facts.replaceChildren();
    this.fact('method', job.method);
    this.fact('n x d', `${job.n} x ${job.d}`);
    this.fact('created', new Date(job.createdAt).toLocaleTimeString());
    if (job.progress) {
      this.fact('iteration', String(job.progress.iteration), 'iteration');
      this.fact('loss', short(job.progress.loss));
      this.fact('gradient norm', short(job.progress.gradNorm));
    }
    const r = job.result;
    if (r) {
      // the exact number, as the API has it
      this.fact('final loss', String(r.loss), 'final-loss');
      this.fact('iterations', String(r.iterations));
      this.fact('reason', `${r.reason}${r.converged ? ' (converged)' : ''}`, 'reason');
      this.fact('max |sigma(x) - sigma|', short(r.maxAbsResidual));
      if (r.relError !== undefined) this.fact('relError', short(r.relError));
      if (r.startMethod !== undefined) this.fact('start', r.startMethod, 'start-method');
      if (r.negativeSlacks !== undefined) {
        this.fact('negative slacks', `${r.negativeSlacks} of ${job.n}`, 'negative-slacks');
      }
      if (r.ambiguity) this.fact('ambiguity', r.ambiguity, 'ambiguity');
      if (typeof r.timings?.totalMs === 'number') this.fact('time', `${Math.round(r.timings.totalMs)} ms`);
      if (r.warnings?.length) this.fact('warnings', r.warnings.join('; '));
    }
    if (job.error) this.fact('error', `${job.error.code}: ${job.error.message}`, 'job-error');
    $('#job-json pre').textContent = JSON.stringify(
      job,
      (key, value) =>
        (key === 'x' || key === 'leverage') && Array.isArray(value) && value.length > 50
          ? `[${value.length} numbers]`
          : value,
      2,
    );
    this.onUpdate(job, before);
  }

  private renderLinks(id: string): void {
    const href = (route: Route, params: Record<string, string> = {}) =>
      `/${routePath(route, { id, ...params })}`;
    const vector = (name: string) => href(ROUTES.resultVector, { vector: name });
    const links = [
      [href(ROUTES.get), 'job'],
      [`${href(ROUTES.iterates)}?limit=${ITERATES_PAGE}`, 'iterates'],
      [vector('x.npy'), 'x.npy'],
      [vector('leverage.npy'), 'leverage.npy'],
      [vector('signs.npy'), 'signs.npy'],
    ].map(([href, text]) => el('a', { href, target: '_blank', rel: 'noopener' }, text));
    const holder = $('#job-links');
    holder.replaceChildren();
    for (const [i, link] of links.entries()) holder.append(...(i ? [' · '] : []), link);
    holder.append(el('span', { class: 'muted' }, ' (links carry no API key: with keys, use the JSON below)'));
  }

  private async cancel(): Promise<void> {
    const id = this.id;
    if (!id) return;
    try {
      const job = await client().cancel(id);
      this.render(job);
      showStatus(this.error, job.done ? `cancelled` : 'asked to stop: it ends within one iteration');
    } catch (error) {
      showError(this.error, error);
    }
  }

  private async remove(): Promise<void> {
    const id = this.id;
    if (!id) return;
    try {
      await client().delete(id);
      forget(id);
      this.close();
    } catch (error) {
      showError(this.error, error);
    }
  }
}
