/** The version `cairn --version` prints. */
export const CLI_VERSION = '0.1.0';
