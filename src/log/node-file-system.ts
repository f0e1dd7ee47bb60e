// The real file system: node:fs. The only module of Annal that touches node:fs for store data.

import * as fs from 'node:fs';
import { promisify } from 'node:util';
import type { FileHandle, FileSystem, OpenMode, OpenOptions } from './file-system.js';

const write = promisify(fs.write);
const fdatasync = promisify(fs.fdatasync);
const fsync = promisify(fs.fsync);
const ftruncate = promisify(fs.ftruncate);
const close = promisify(fs.close);
const open = promisify(fs.open);

const FLAGS: Record<OpenMode, number> = {
  read: fs.constants.O_RDONLY,
  readwrite: fs.constants.O_RDWR,
  create: fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_EXCL,
};

class NodeFileHandle implements FileHandle {
  constructor(readonly path: string, private readonly fd: number, readonly syncWrites: boolean) {}

  read(buffer: Uint8Array, bufferOffset: number, length: number, fileOffset: number): number {
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, buffer, bufferOffset + done, length - done, fileOffset + done);
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  async write(buffer: Uint8Array, fileOffset: number): Promise<void> {
    let done = 0;
    while (done < buffer.length) {
      const { bytesWritten } = await write(this.fd, buffer, done, buffer.length - done, fileOffset + done);
      done += bytesWritten;
    }
  }

  writeNow(buffer: Uint8Array, fileOffset: number): void {
    let done = 0;
    while (done < buffer.length) done += fs.writeSync(this.fd, buffer, done, buffer.length - done, fileOffset + done);
  }

  datasync(): Promise<void> {
    return fdatasync(this.fd);
  }

  sync(): Promise<void> {
    return fsync(this.fd);
  }

  truncate(sizeBytes: number): Promise<void> {
    return ftruncate(this.fd, sizeBytes);
  }

  size(): number {
    return fs.fstatSync(this.fd).size;
  }

  close(): Promise<void> {
    return close(this.fd);
  }
}

export const nodeFileSystem: FileSystem = {
  async open(path: string, mode: OpenMode, options?: OpenOptions): Promise<FileHandle> {
    const syncWrites = options?.syncWrites === true && mode !== 'read';
    const fd = await open(path, FLAGS[mode] | (syncWrites ? fs.constants.O_DSYNC : 0), 0o644);
    return new NodeFileHandle(path, fd, syncWrites);
  },
  rename: (from, to) => fs.promises.rename(from, to),
  unlink: (path) => fs.promises.unlink(path),
  readdir: (dir) => fs.promises.readdir(dir),
  async mkdir(dir) {
    await fs.promises.mkdir(dir, { recursive: true });
  },
  async syncDir(dir) {
    const fd = await open(dir, fs.constants.O_RDONLY);
    try {
      await fsync(fd);
    } finally {
      await close(fd);
    }
  },
};
