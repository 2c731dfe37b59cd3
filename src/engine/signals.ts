import { setMaxListeners } from 'node:events';

/**
 * A signal that aborts when any of `signals` does. Every request and file in
 * flight listens to the run's signal, so the listener cap (10, then a warning
 * on stderr) is lifted: dozens of listeners are the design, not a leak.
 */
export function anySignal(...signals: AbortSignal[]): AbortSignal {
  const combined = AbortSignal.any(signals);
  setMaxListeners(0, combined, ...signals);
  return combined;
}
