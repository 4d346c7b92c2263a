// A socket.io client from a source address of its own (127.0.0.N, all on lo), so that sticky balancing
// by client IP spreads clients over the slots: the agent carries the address for the polling requests
// (xmlhttprequest-ssl uses it), and engine.io-client passes `agent` and `localAddress` on to ws for the
// WebSocket.
import { Agent } from 'node:http';
import { io, type Socket } from 'socket.io-client';

export function socketFrom(address: string, ip: string, options: Record<string, unknown> = {}): Socket {
  return io(`http://${address}`, {
    agent: new Agent({ localAddress: ip }) as unknown as string,
    localAddress: ip,
    forceNew: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 500,
    ...options,
  } as Parameters<typeof io>[1]);
}
