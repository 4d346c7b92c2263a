export type {
  AppStatus,
  ConnectOptions,
  FleetApp,
  FleetSample,
  FleetWorker,
  LogEvent,
  LogsOptions,
  MonitorItem,
  ProfileDone,
  ProfileFileResult,
  ProfileOptions,
  ProfileStart,
  ReloadResult,
  RequestFigures,
  ScaleResult,
  Status,
  Stream,
  UpApp,
  UpChange,
  UpReport,
  WaitOptions,
  WorkerStatus,
} from './client/index.js';
export { Client, connect } from './client/index.js';
export { defineConfig } from './config/define.js';
export type { LoadConfigOptions, ResolvedApp, ResolvedConfig } from './config/index.js';
export { loadConfig } from './config/index.js';
export type * from './config/types.generated.js';
export { CommandError } from './control/client.js';
export { UpError } from './control/up-error.js';
export { ClusterdError, ConfigError, type ConfigIssue, ErrorCode, ExitCode } from './errors.js';
