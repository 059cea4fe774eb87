export { runDurableLogSuite } from './durable-log-suite.js';
export { runTransportSuite } from './transport-suite.js';
