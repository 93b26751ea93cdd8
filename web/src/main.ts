/** The dashboard page: the API key field, the submit panel, the jobs table and the job view, wired. */
import '../style.css';
import { apiKey, setApiKey } from './client.js';
import { $ } from './dom.js';
import { JobView } from './job-view.js';
import { JobsTable } from './jobs-table.js';
import { SubmitPanel } from './submit.js';

const keyInput = $<HTMLInputElement>('#api-key');
const keyState = $('#key-state');

function showKeyState(): void {
  keyState.textContent = apiKey() ? 'key set for this tab' : 'no key';
}

/** The open job is in the address (#job=<id>), so a reload or a shared link shows it again. */
function jobFromHash(): string | undefined {
  const match = /^#job=([\w-]{1,128})$/.exec(location.hash);
  return match?.[1];
}

const table = new JobsTable((id) => void view.open(id));
const view = new JobView(
  (id) => {
    table.select(id);
    const hash = id ? `#job=${id}` : '';
    if (location.hash !== hash) history.replaceState(null, '', hash || location.pathname);
    void table.refresh();
  },
  (job, before) => {
    table.show(job);
    // a new state may move the job in or out of the filtered page: the list itself, not only its row
    if (before && before.state !== job.state) void table.refresh();
  },
);
new SubmitPanel((job) => void view.open(job.id));

$('#key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  setApiKey(keyInput.value.trim());
  keyInput.value = '';
  showKeyState();
  void table.refresh();
  if (view.current) void view.open(view.current);
});
$('#key-clear').addEventListener('click', () => {
  setApiKey('');
  keyInput.value = '';
  showKeyState();
  void table.refresh();
});

showKeyState();
void table.refresh();
const initial = jobFromHash();
if (initial) void view.open(initial);
