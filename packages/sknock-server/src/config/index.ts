/** Configuration: `config.ini` (original sKnock form) and library options → ServerConfig. */
export type { ServerConfig } from './types.js';
export { SknockConfigError, isSknockConfigError } from './errors.js';
export type { ConfigProblem, SknockConfigErrorCode } from './errors.js';
export { parseIni } from './ini.js';
export type { IniEntry } from './ini.js';
export { loadConfigFile } from './load-config.js';
export { resolveServerConfig } from './resolve.js';
export type { ServerConfigInput } from './resolve.js';
export { checkConfig } from './check-config.js';
export type { ConfigCheckResult } from './check-config.js';
export { CONFIG_KEYS } from './option-names.js';
export type { ConfigKeyInfo } from './option-names.js';
