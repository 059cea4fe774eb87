export { JuteReader, JuteWriter, MalformedRecordError } from './jute.js';
export {
  FOUR_LETTER_WORDS,
  type FourLetterWord,
  MAX_FRAME_BYTES_DEFAULT,
  type ZkServerOptions,
} from './options.js';
export { OP_CODES } from './records.js';
export { createZkServer, type ZkServer } from './server.js';
