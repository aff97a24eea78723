// Loads the comm thread from TypeScript sources (tests and `node --import tsx` runs): worker threads do
// not inherit tsx's loader, so register it here first. Compiled builds load comm-thread.js directly.
import { register } from 'tsx/esm/api';

register();
await import('./comm-thread.ts');
