/**
 * Where a GET's body goes: views of a buffer, each valid until the sink's
 * promise settles (the reader does not touch the buffer meanwhile).
 */
export type BodySink = (view: Buffer) => void | Promise<void>;

/** A body that can be read straight into a sink (our own connections: s3-http.ts). */
export interface DirectBody {
  drainInto(sink: BodySink): Promise<void>;
}

export function isDirectBody(body: unknown): body is DirectBody {
  return typeof (body as Partial<DirectBody> | undefined)?.drainInto === 'function';
}

/**
 * Any other body (node:http, the SDK, tests' in-memory store): its pieces are
 * gathered in `buffer` and handed to the sink whenever it fills. Bytes already
 * gathered when the body fails go to the sink before the error does, so the
 * whole chunks among them count.
 */
export async function pumpReadable(body: AsyncIterable<Buffer>, buffer: Buffer, sink: BodySink): Promise<void> {
  let filled = 0;
  let sinkFailed = false;
  const flush = async () => {
    const view = buffer.subarray(0, filled);
    filled = 0;
    try {
      await sink(view);
    } catch (err) {
      sinkFailed = true;
      throw err;
    }
  };
  try {
    for await (const data of body) {
      for (let at = 0; at < data.length; ) {
        const n = data.copy(buffer, filled, at);
        filled += n;
        at += n;
        if (filled === buffer.length) await flush();
      }
    }
  } catch (err) {
    if (filled > 0 && !sinkFailed) await flush().catch(() => {});
    throw err;
  }
  if (filled > 0) await flush();
}
