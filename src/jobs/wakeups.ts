/**
 * Push wake-ups: one Redis subscriber connection per process, shared by everything in it that waits for a
 * job's news (the API's open event streams, a worker's running solves).
 *
 * The job scripts (scripts.ts) SPUBLISH on a job's channels when they write: a channel is named like the
 * key it announces (`P:job:{id}:events` for the event stream, `P:job:{id}:cancel` for the cancel flag;
 * channels and keys are separate namespaces), so it carries the job's hash tag: in a Redis Cluster the
 * publish stays on the job's shard, and only the processes that follow that job hear it.
 *
 * A wake-up says only "look again": the key stays the source of truth, and a follower reads it. A publish
 * can be missed (the subscriber reconnecting, a subscription still in flight), so followers also look on
 * a slow timer of their own, and every follower is woken when the subscriber (re)connects.
 *
 * In a Redis Cluster the subscriber is an ioredis Cluster with `shardedSubscribers`: one connection per
 * master, each channel followed on the shard that owns its slot.
 *
 * Needs Redis 7 (SSUBSCRIBE / SPUBLISH); on an older server the scripts publish nothing, subscribing fails
 * quietly, and followers fall back to their timers.
 */
import type { Logger } from 'pino';
import { closeConnection, createClient, type RedisClient, reconnect } from './redis.js';

export interface Follow {
  /** Resolves once the subscription is in place (or has failed, or the subscriber is not connected). */
  ready: Promise<void>;
  /** Idempotent: stop hearing the channel (the last follower of a channel unsubscribes). */
  stop(): void;
}

/** How long follow().ready waits for the subscription at most. */
const SUBSCRIBE_WAIT_MS = 1000;

export class Wakeups {
  private readonly sub: RedisClient;
  private readonly followers = new Map<string, Set<() => void>>();
  /** subscriptions in flight, so that a second follower of a channel waits for the same one */
  private readonly subscribing = new Map<string, Promise<void>>();
  private closing: Promise<void> | undefined;

  constructor(
    url: string,
    name: string,
    private readonly log: Logger,
  ) {
    // In a Redis Cluster: one subscriber connection per master (ioredis's sharded subscribers), each
    // SSUBSCRIBE going to the shard that owns the channel's slot (the job's hash tag).
    this.sub = createClient(
      url,
      {
        // we resubscribe ourselves on 'ready' (and wake every follower then: it may have missed a publish)
        autoResubscribe: false,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        retryStrategy: reconnect,
      },
      name,
      { shardedSubscribers: true },
    );
    this.sub.on('error', (error) => log.debug({ err: error }, 'wake-up subscriber connection error'));
    this.sub.on('smessage', (channel: string) => this.wake(channel));
    this.sub.on('ready', () => {
      for (const channel of this.followers.keys()) void this.subscribe(channel);
      for (const channel of this.followers.keys()) this.wake(channel);
    });
  }

  /** Calls `wake` whenever something is published on `channel`, until stop(). */
  follow(channel: string, wake: () => void): Follow {
    let set = this.followers.get(channel);
    let ready: Promise<void>;
    if (set) {
      ready = this.subscribing.get(channel) ?? Promise.resolve();
    } else {
      set = new Set();
      this.followers.set(channel, set);
      ready = this.subscribe(channel);
    }
    set.add(wake);
    let stopped = false;
    return {
      ready,
      stop: () => {
        if (stopped) return;
        stopped = true;
        const current = this.followers.get(channel);
        if (!current?.delete(wake) || current.size > 0) return;
        this.followers.delete(channel);
        if (this.sub.status === 'ready') {
          this.sub.sunsubscribe(channel).catch((error) => this.log.debug({ err: error }, 'sunsubscribe'));
        }
      },
    };
  }

  /** How many channels this process follows (tests, metrics). */
  get channels(): number {
    return this.followers.size;
  }

  private subscribe(channel: string): Promise<void> {
    if (this.closing || this.sub.status !== 'ready') return Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const done = Promise.race([
      this.sub.ssubscribe(channel).then(
        () => undefined,
        (error: unknown) => this.log.debug({ err: error, channel }, 'ssubscribe failed'),
      ),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SUBSCRIBE_WAIT_MS);
        timer.unref();
      }),
    ]).finally(() => {
      clearTimeout(timer);
      if (this.subscribing.get(channel) === done) this.subscribing.delete(channel);
    });
    this.subscribing.set(channel, done);
    return done;
  }

  private wake(channel: string): void {
    const set = this.followers.get(channel);
    if (!set) return;
    for (const wake of [...set]) {
      try {
        wake();
      } catch (error) {
        this.log.warn({ err: error, channel }, 'a wake-up handler failed');
      }
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.followers.clear();
      await closeConnection(this.sub);
    })();
    return this.closing;
  }
}

/**
 * A latch for one waiting loop: wake() while the loop is busy is remembered, so the next wait() returns at
 * once; wait() otherwise resolves on wake(), after `ms`, or on abort.
 */
export class Latch {
  private pending = false;
  private resolve: (() => void) | null = null;

  wake = (): void => {
    this.pending = true;
    this.resolve?.();
  };

  /** Clears a remembered wake-up: call before reading what the wake-ups announce. */
  reset(): void {
    this.pending = false;
  }

  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.pending || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.resolve = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done);
      this.resolve = done;
    });
  }
}
