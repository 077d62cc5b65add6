import { createServer, type Socket, connect } from 'node:net';
import { freePort } from './free-port';

export interface TcpProxy {
  port: number;
  /** Bytes forwarded from clients to the target so far. */
  uploadedBytes(): number;
  /** Connections accepted so far (how well clients reuse them: keep-alive). */
  acceptedConnections(): number;
  /** Cuts every open connection (both directions), as a network failure would. */
  dropConnections(): void;
  /** Bytes forwarded from the target to clients so far. */
  downloadedBytes(): number;
  /** Cut all connections once the uploaded byte count passes each of these marks. */
  dropAt(marks: number[]): void;
  /** Cut all connections once the downloaded byte count passes each of these marks. */
  dropDownloadAt(marks: number[]): void;
  /** Once the uploaded byte count passes `mark`, stop forwarding client bytes (a hung network) until `unstall()`. */
  stallAt(mark: number): void;
  /** Whether the proxy is currently holding client bytes back. */
  stalled(): boolean;
  /** Drops the held connections and forwards normally again. */
  unstall(): void;
  /** Forwards the held bytes and carries on, as a network that was only slow. */
  release(): void;
  /** Refuse new connections (the target looks down) until `resume()`. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

/** A loopback TCP proxy in front of a real server, for cutting connections mid-transfer in tests. */
export const startTcpProxy = async (targetPort: number): Promise<TcpProxy> => {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let uploaded = 0;
  let downloaded = 0;
  let accepted = 0;
  let marks: number[] = [];
  let downloadMarks: number[] = [];
  let paused = false;
  let stallMark = Infinity;
  let stalling = false;
  const held: Array<() => void> = [];
  const dropConnections = (): void => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  const server = createServer((client) => {
    if (paused) return void client.destroy();
    accepted += 1;
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const hold = (chunk: Buffer): void => {
      // Held, not lost: the connection hangs until release() forwards it or unstall() cuts it.
      client.pause();
      held.push(() => {
        uploaded += chunk.length;
        upstream.write(chunk);
        client.resume();
      });
    };
    client.on('data', (chunk: Buffer) => {
      if (stalling) return hold(chunk);
      if (uploaded + chunk.length >= stallMark) {
        stalling = true;
        stallMark = Infinity;
        return hold(chunk);
      }
      uploaded += chunk.length;
      if (marks.length > 0 && uploaded >= (marks[0] ?? Infinity)) {
        marks = marks.slice(1);
        dropConnections();
        return;
      }
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => {
      downloaded += chunk.length;
      if (downloadMarks.length > 0 && downloaded >= (downloadMarks[0] ?? Infinity)) {
        downloadMarks = downloadMarks.slice(1);
        dropConnections();
        return;
      }
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', close);
    upstream.on('close', close);
    client.on('error', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    port,
    uploadedBytes: () => uploaded,
    downloadedBytes: () => downloaded,
    acceptedConnections: () => accepted,
    dropConnections,
    dropAt(values) {
      marks = [...values].sort((a, b) => a - b);
    },
    dropDownloadAt(values) {
      downloadMarks = [...values].sort((a, b) => a - b);
    },
    stallAt(mark) {
      stallMark = mark;
    },
    stalled: () => stalling,
    unstall() {
      held.length = 0;
      dropConnections();
      stalling = false;
    },
    release() {
      stalling = false;
      for (const forward of held.splice(0)) forward();
    },
    pause() {
      paused = true;
      dropConnections();
    },
    resume() {
      paused = false;
    },
    close: () =>
      new Promise((resolve) => {
        dropConnections();
        server.close(() => resolve());
      }),
  };
};
