// Small helpers for the node-eventstore-client end-to-end tests: event builders, Long → number,
// unique stream names, waiting for a condition, and the error a promise rejects with.

import { randomUUID } from 'node:crypto';
import esc from 'node-eventstore-client';
import type { EventData, EventStoreNodeConnection, ResolvedEvent } from 'node-eventstore-client';

/** Polling step and default limit of `waitFor`. */
const WAIT_STEP_MS = 5;
const WAIT_MS_DEFAULT = 10_000;

/** A Long (or number) from the client as a number; every value in these tests is small. */
export function num(value: { toString(): string } | number): number {
  return Number(value.toString());
}

/** A stream name no other test uses. */
export function streamName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function jsonEvent(type: string, data: object, metadata?: object): EventData {
  return esc.createJsonEventData(randomUUID(), data, metadata ?? null, type);
}

export function binaryEvent(type: string, data: Buffer, metadata?: Buffer): EventData {
  return esc.createEventData(randomUUID(), type, false, data, metadata);
}

/** `count` JSON events {n: first…} of type 'Numbered'. */
export function numberedEvents(count: number, first = 0): EventData[] {
  return Array.from({ length: count }, (_, k) => jsonEvent('Numbered', { n: first + k }));
}

/** The `n` of a 'Numbered' event. */
export function numberOf(event: ResolvedEvent): number {
  return (JSON.parse(event.event!.data!.toString('utf8')) as { n: number }).n;
}

/** Appends `count` numbered events to a stream in one write (expected version any). */
export async function appendNumbered(connection: EventStoreNodeConnection, stream: string, count: number, first = 0): Promise<void> {
  await connection.appendToStream(stream, esc.expectedVersion.any, numberedEvents(count, first));
}

/** The error `promise` rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection, but the call succeeded');
}

/** Resolves once `condition` holds; rejects with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = WAIT_MS_DEFAULT): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
  }
}

/** Lets packages already on their way arrive (used before asserting that nothing more came). */
export function settle(ms = 100): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
