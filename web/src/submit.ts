/**
 * The three ways to submit: a problem generated in the browser, a pasted (or chosen) JSON document, and
 * .npy files as multipart/form-data, each sent with the client's solve(). Each remembers the sigma and
 * xStar it sent, for the job's plots, and the generator the cell it drew (and did not send).
 */
import { type Job, type Problem, parseNpy } from '../../src/client/browser.js';
import { client } from './client.js';
import { $, el, PageError, showError, showStatus } from './dom.js';
import { checkParams, generateProblem, type SignPattern } from './generate.js';
import { type KnownVectors, remember, vectorsOf } from './known.js';

/** An uploaded vector, for the plots only: a file the service will refuse (and say why) is left out here. */
function readVector(bytes: Uint8Array, name: string): number[] | undefined {
  try {
    return Array.from(parseNpy(bytes, name).data);
  } catch {
    return undefined;
  }
}

export class SubmitPanel {
  private readonly status = $('#submit-status');

  constructor(private readonly onSubmitted: (job: Job) => void) {
    for (const tab of document.querySelectorAll<HTMLButtonElement>('.tabs [data-tab]')) {
      tab.addEventListener('click', () => this.showTab(tab.dataset.tab ?? 'generate'));
    }
    this.handle('#form-generate', (form) => this.generate(form));
    this.handle('#form-paste', () => this.paste());
    this.handle('#form-upload', (form) => this.upload(form));
    $<HTMLInputElement>('#paste-file').addEventListener('change', async (event) => {
      const file = (event.target as HTMLInputElement).files?.[0];
      if (file) $<HTMLTextAreaElement>('#paste-text').value = await file.text();
    });
  }

  private showTab(name: string): void {
    for (const tab of document.querySelectorAll<HTMLButtonElement>('.tabs [data-tab]')) {
      tab.setAttribute('aria-selected', String(tab.dataset.tab === name));
    }
    for (const panel of document.querySelectorAll<HTMLElement>('.tab-panel'))
      panel.hidden = panel.dataset.panel !== name;
  }

  private handle(
    selector: string,
    submit: (form: HTMLFormElement) => Promise<{ job: Job; known: KnownVectors }>,
  ): void {
    const form = $<HTMLFormElement>(selector);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const button = form.querySelector<HTMLButtonElement>('button[type="submit"]');
      if (button) button.disabled = true;
      showStatus(this.status, 'sending...');
      try {
        const { job, known } = await submit(form);
        remember(job.id, known);
        showStatus(
          this.status,
          'submitted job ',
          el('code', { 'data-testid': 'submitted-id' }, job.id),
          ` (${job.state})`,
        );
        this.onSubmitted(job);
      } catch (error) {
        showError(this.status, error);
      } finally {
        if (button) button.disabled = false;
      }
    });
  }

  private async generate(form: HTMLFormElement): Promise<{ job: Job; known: KnownVectors }> {
    const data = new FormData(form);
    const n = Number(data.get('n'));
    const d = Number(data.get('d'));
    const seed = Number(data.get('seed'));
    const bad = checkParams(n, d, seed);
    if (bad) throw new PageError('Invalid parameters', bad);
    const { A, b, sigma, xStar, cell } = generateProblem(n, d, seed, data.get('signs') as SignPattern);
    const maxIterations = Number(data.get('maxIterations'));
    // Neither signs nor x0: the solver finds the cell from A, b and sigma, and the page then holds the
    // cell it found against the generator's. xStar only gives the result its relError.
    const problem: Problem = {
      A,
      b,
      sigma,
      xStar,
      method: data.get('method') as Problem['method'],
      ...(maxIterations > 0 ? { options: { maxIterations } } : {}),
    };
    const job = await client().solve(problem);
    return { job, known: { sigma, xStar, cell } };
  }

  private async paste(): Promise<{ job: Job; known: KnownVectors }> {
    const text = $<HTMLTextAreaElement>('#paste-text').value;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      // the service would say 400 too; saying it here names the JSON error
      throw new PageError('Not JSON', (error as Error).message);
    }
    // the text as typed: the service judges exactly what the person gave
    const job = await client().solve(text);
    return { job, known: vectorsOf(parsed) };
  }

  private async upload(form: HTMLFormElement): Promise<{ job: Job; known: KnownVectors }> {
    const data = new FormData();
    const known: KnownVectors = {};
    for (const input of form.querySelectorAll<HTMLInputElement>('input[type="file"]')) {
      const file = input.files?.[0];
      if (!file) continue;
      data.append(input.name, file, file.name);
      if (input.name === 'sigma' || input.name === 'xStar') {
        const vector = readVector(new Uint8Array(await file.arrayBuffer()), file.name);
        if (vector) known[input.name] = vector;
      }
    }
    const json = (form.elements.namedItem('json') as HTMLTextAreaElement).value.trim();
    if (json) data.append('json', json);
    const job = await client().solve(data);
    return { job, known };
  }
}
