/**
 * The jobs list: one page of GET /jobs (newest first) with a state filter, paged with the API's cursors (a
 * stack of them, to go back to newer pages). The open job's row follows that job's events (show()); the
 * page asks for the list again when the open job changes state, and every few seconds for the rest.
 */
import type { Job, JobState } from '../../src/client/browser.js';
import { client } from './client.js';
import { $, age, clearStatus, el, short, showError } from './dom.js';

const PAGE_SIZE = 10;
// GET /jobs has no event stream: jobs submitted elsewhere and the other jobs' progress come only by asking
const REFRESH_MS = 10_000;

export class JobsTable {
  /** cursors of the pages shown so far; the last is the current page's ('' for the first) */
  private cursors: string[] = [''];
  private nextCursor: string | null = null;
  private selected: string | undefined;
  private loading = false;
  /** a refresh asked for while one was under way, whose answer may predate what prompted it */
  private again = false;
  private readonly body = $<HTMLTableSectionElement>('#jobs-table tbody');
  private readonly stateFilter = $<HTMLSelectElement>('#jobs-state');
  private readonly error = $('#jobs-error');

  constructor(private readonly onOpen: (id: string) => void) {
    this.stateFilter.addEventListener('change', () => {
      this.cursors = [''];
      void this.refresh();
    });
    $('#jobs-older').addEventListener('click', () => {
      if (!this.nextCursor) return;
      this.cursors.push(this.nextCursor);
      void this.refresh();
    });
    $('#jobs-newer').addEventListener('click', () => {
      if (this.cursors.length > 1) this.cursors.pop();
      void this.refresh();
    });
    setInterval(() => {
      if (!document.hidden) void this.refresh();
    }, REFRESH_MS);
  }

  select(id: string | undefined): void {
    this.selected = id;
    for (const row of this.body.rows) row.classList.toggle('selected', row.dataset.id === id);
  }

  /** A job as its events have it now: its row, when shown, says so at once. */
  show(job: Job): void {
    for (const row of this.body.rows) {
      if (row.dataset.id === job.id) row.replaceWith(this.row(job, Date.now()));
    }
  }

  async refresh(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      do {
        this.again = false;
        await this.load();
      } while (this.again);
    } finally {
      this.loading = false;
    }
  }

  private async load(): Promise<void> {
    try {
      const cursor = this.cursors[this.cursors.length - 1];
      const state = this.stateFilter.value as JobState | '';
      const page = await client().list({
        limit: PAGE_SIZE,
        ...(state ? { state } : {}),
        ...(cursor ? { cursor } : {}),
      });
      clearStatus(this.error);
      this.render(page.items);
      this.nextCursor = page.nextCursor;
      $<HTMLButtonElement>('#jobs-older').disabled = !page.nextCursor;
      $<HTMLButtonElement>('#jobs-newer').disabled = this.cursors.length <= 1;
      $('#jobs-page').textContent = `page ${this.cursors.length}`;
      $('#jobs-updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      showError(this.error, error);
      this.body.replaceChildren();
    }
  }

  private render(jobs: Job[]): void {
    const now = Date.now();
    if (jobs.length === 0) {
      this.body.replaceChildren(el('tr', {}, el('td', { colspan: '7', class: 'muted empty' }, 'no jobs')));
      return;
    }
    this.body.replaceChildren(...jobs.map((job) => this.row(job, now)));
  }

  private row(job: Job, now: number): HTMLTableRowElement {
    const open = el('button', { type: 'button', class: 'link', title: job.id }, job.id.slice(0, 8));
    open.addEventListener('click', () => this.onOpen(job.id));
    const row = el(
      'tr',
      { 'data-id': job.id, 'data-state': job.state },
      el('td', {}, open),
      el('td', {}, el('span', { class: `state ${job.state}` }, job.state)),
      el('td', {}, job.method),
      el('td', {}, `${job.n} x ${job.d}`),
      el('td', { class: 'num' }, job.progress ? String(job.progress.iteration) : ''),
      el('td', { class: 'num' }, short(job.progress?.loss)),
      el('td', { class: 'num' }, age(job.createdAt, now)),
    );
    if (job.id === this.selected) row.classList.add('selected');
    return row;
  }
}
