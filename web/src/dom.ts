/** DOM helpers: look-ups that fail loudly, elements built without innerHTML, problems shown as sent. */
import { LevinvError } from '../../src/client/browser.js';

/** A mistake the page itself catches before asking the service (not JSON, bad parameters): shown alike. */
export class PageError extends Error {
  constructor(
    readonly title: string,
    detail: string,
  ) {
    super(detail);
    this.name = 'PageError';
  }
}

export function $<T extends HTMLElement = HTMLElement>(selector: string, root: ParentNode = document): T {
  const el = root.querySelector<T>(selector);
  if (!el) throw new Error(`missing element ${selector}`);
  return el;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** Where a 400's entry points: the JSON pointer into the body (`/` for the whole), a parameter or a header. */
function where(item: LevinvError['errors'][number]): string {
  return item.pointer || item.parameter || item.header || '/';
}

/** An error as the service said it: status and title, the detail, and one line per bad field. */
export function showError(target: HTMLElement, error: unknown): void {
  target.className = 'status error';
  if (error instanceof LevinvError || error instanceof PageError) {
    // status 0: the page's own check, or no answer at all (LevinvNetworkError)
    const status = error instanceof LevinvError ? error.status : 0;
    const head = el('strong', { class: 'problem-title' }, `${status ? `${status} ` : ''}${error.title}`);
    const children: Node[] = [head];
    if (error.message) children.push(el('span', { class: 'problem-detail' }, error.message));
    const errors = error instanceof LevinvError ? error.errors : [];
    if (errors.length > 0) {
      const list = el('ul', { class: 'problem-errors' });
      for (const item of errors) {
        list.append(el('li', {}, el('code', { class: 'pointer' }, where(item)), ` ${item.detail}`));
      }
      children.push(list);
    }
    target.replaceChildren(...children);
    return;
  }
  target.replaceChildren(
    el('strong', { class: 'problem-title' }, 'Error'),
    el('span', { class: 'problem-detail' }, String((error as Error)?.message ?? error)),
  );
}

export function showStatus(target: HTMLElement, ...content: (Node | string)[]): void {
  target.className = 'status ok';
  target.replaceChildren(...content);
}

export function clearStatus(target: HTMLElement): void {
  target.className = 'status';
  target.replaceChildren();
}

/** Numbers as a table shows them: 4 significant digits, exponent when small or large. */
export function short(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value))
    return value === undefined || value === null ? '' : String(value);
  if (value === 0) return '0';
  const abs = Math.abs(value);
  return abs < 1e-3 || abs >= 1e5 ? value.toExponential(3) : value.toPrecision(4);
}

export function age(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} d`;
}
