// vitest setupFiles: routes this worker's root logger as test-logs.ts says.
import { logForPerson } from '../../src/shared/log.js';
import { keepTestLogsOnStdout, testLogFile } from './test-logs.js';

if (!keepTestLogsOnStdout()) logForPerson(testLogFile);
