import { Agent as HttpAgent, type AgentOptions } from 'node:http';
import { Agent as HttpsAgent, type AgentOptions as HttpsAgentOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { validateSocketDefaults, type SocketDefaults } from './connect-options.js';
import { invalidOption } from './errors.js';
import type { Knocker } from './knocker.js';

/**
 * node:http and node:https agents whose every new connection goes through
 * `knocker.connect()`: it knocks only when the port does not answer (a grant ran out), and
 * a kept-alive connection is never touched. The agents are the Node ones, with
 * `createConnection` replaced (its callback form lets it wait for the knock); https adds
 * TLS over the knocked connection through the agent's own `createConnection`, so TLS
 * session reuse works as usual.
 */

export interface KnockingHttpAgentOptions extends AgentOptions {
  /** Options for every connection's `knocker.connect()` (timeout, knockAfter, grantSeconds, knockPort, ...). */
  readonly knock?: SocketDefaults;
}

export interface KnockingHttpsAgentOptions extends HttpsAgentOptions {
  readonly knock?: SocketDefaults;
}

type Callback = (error: Error | null, socket?: Socket) => void;
interface ConnectionRequest {
  readonly host?: string | null;
  readonly hostname?: string | null;
  readonly port?: number | string | null;
  readonly keepAlive?: boolean;
  readonly keepAliveInitialDelay?: number;
}

export function checkKnocker(knocker: unknown, fn: string): Knocker {
  const k = knocker as Partial<Knocker> | null;
  if (k === null || typeof k !== 'object' || typeof k.connect !== 'function') throw invalidOption('knocker', `${fn}() needs the knocker from createKnocker()`);
  return k as Knocker;
}

function connectFor(knocker: Knocker, defaults: SocketDefaults, request: ConnectionRequest, defaultPort: number): Promise<Socket> {
  const host = request.host ?? request.hostname ?? 'localhost';
  const port = Number(request.port) || defaultPort;
  return knocker.connect({ ...defaults, host, port }).then((socket) => {
    if (request.keepAlive === true) socket.setKeepAlive(true, request.keepAliveInitialDelay ?? 0);
    return socket;
  });
}

/** An `http.Agent` that knocks when a new connection needs it. */
export function createHttpAgent(knocker: Knocker, options: KnockingHttpAgentOptions = {}): HttpAgent {
  checkKnocker(knocker, 'createHttpAgent');
  const { knock, ...agentOptions } = options;
  const defaults = validateSocketDefaults(knock, 'knock');
  const agent = new HttpAgent(agentOptions);
  Object.defineProperty(agent, 'createConnection', {
    value: (request: ConnectionRequest, callback: Callback): undefined => {
      connectFor(knocker, defaults, request, 80).then(
        (socket) => callback(null, socket),
        (err: Error) => callback(err),
      );
      return undefined;
    },
  });
  return agent;
}

/** An `https.Agent` that knocks when a new connection needs it, then speaks TLS over that connection. */
export function createHttpsAgent(knocker: Knocker, options: KnockingHttpsAgentOptions = {}): HttpsAgent {
  checkKnocker(knocker, 'createHttpsAgent');
  const { knock, ...agentOptions } = options;
  const defaults = validateSocketDefaults(knock, 'knock');
  const agent = new HttpsAgent(agentOptions);
  const overTls = (HttpsAgent.prototype as unknown as { createConnection(options: object): TLSSocket }).createConnection;
  Object.defineProperty(agent, 'createConnection', {
    value: (request: ConnectionRequest, callback: Callback): undefined => {
      connectFor(knocker, defaults, request, 443).then(
        (socket) => {
          let secure: TLSSocket;
          try {
            secure = overTls.call(agent, { ...request, socket });
          } catch (err) {
            socket.destroy();
            callback(err as Error);
            return;
          }
          callback(null, secure);
        },
        (err: Error) => callback(err),
      );
      return undefined;
    },
  });
  return agent;
}
