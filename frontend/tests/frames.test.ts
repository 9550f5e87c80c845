import { describe, expect, it } from 'vitest';
import type { ServerFrameType } from '../src/lib/realtime/protocol';
import { serverFrames } from './generated/serverFrames';

/** A frame type the TypeScript side declares but the server never sends would have no sample. */
type Unsampled = Exclude<ServerFrameType, (typeof serverFrames)[number]['type']>;
const everyTypeSampled: [Unsampled] extends [never] ? true : Unsampled = true;

describe('server frame samples', () => {
  it('hold exactly one sample of every server frame type', () => {
    expect(everyTypeSampled).toBe(true);
    const types = serverFrames.map((f) => f.type);
    expect(new Set(types).size).toBe(types.length);
  });
});
