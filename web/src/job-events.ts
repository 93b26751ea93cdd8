/** A job as its events leave it, for the live view. DOM-free, so Node tests it. */
import type { Job, JobEvent } from '../../src/client/browser.js';

/** `job` after `event`: progress and state change those fields only; done carries the finished job. */
export function applyEvent(job: Job, event: JobEvent): Job {
  switch (event.type) {
    case 'progress':
      return { ...job, progress: event.data };
    case 'state':
      return { ...job, state: event.data.state };
    case 'done':
      return event.data;
  }
}
