import { afterAll, expect } from 'vitest';
import { findSecretLeaks, wireRecords } from './wire-recorder.js';

// DESIGN §3: password_hash, key_hash and token_hash never appear in any HTTP response or socket
// payload. Once a test file is done, everything its helpers received is searched for their forms.
afterAll(() => {
  const leaks = findSecretLeaks(wireRecords());
  expect(leaks, `hidden fields on the wire in ${wireRecords().length} recorded answers and payloads`).toEqual([]);
});
