import { describe, expect, test } from 'vitest';
import {
  INTERNAL_COMMAND_NAMES, TcpCommand, commandName, isClientProtocolCommand, isClientRequest, isInternalCommand,
} from '../../../src/protocol/wire/commands.js';

describe('commands', () => {
  test('commands - codes are distinct bytes and 0xBD is unused', () => {
    const codes = Object.values(TcpCommand);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toBeGreaterThanOrEqual(0x01);
    for (const code of codes) expect(code).toBeLessThanOrEqual(0xff);
    expect(codes).not.toContain(0xbd);
    expect(TcpCommand.FilteredReadAllEventsBackwardCompleted).toBe(0xbe);
    for (const code of INTERNAL_COMMAND_NAMES.keys()) expect(codes).not.toContain(code);
  });

  test('commands - names for logs, including internal and unknown codes', () => {
    expect(commandName(0x82)).toBe('WriteEvents');
    expect(commandName(0xf5)).toBe('IdentifyClient');
    expect(commandName(0x10)).toBe('SubscribeReplica(internal)');
    expect(commandName(0x99)).toBe('Unknown(0x99)');
    expect(commandName(0x00)).toBe('Unknown(0x00)');
  });

  test('commands - client requests are the C→S and both-way rows of the command table', () => {
    const requests = [0x01, 0x02, 0x03, 0x82, 0x84, 0x86, 0x88, 0x8a, 0xb0, 0xb2, 0xb4, 0xb6, 0xb8, 0xba, 0xbc, 0xc0, 0xc3, 0xc5,
      0xc8, 0xca, 0xcc, 0xcd, 0xce, 0xd0, 0xd2, 0xf0, 0xf2, 0xf5];
    for (let code = 0; code < 256; code++) expect(isClientRequest(code), commandName(code)).toBe(requests.includes(code));
  });

  test('commands - internal cluster commands are recognised and are not client-protocol commands', () => {
    for (const code of [0x05, 0x06, 0x07, 0x08, 0x09, 0x10, 0x16, 0x17]) {
      expect(isInternalCommand(code)).toBe(true);
      expect(isClientProtocolCommand(code)).toBe(false);
    }
    expect(isInternalCommand(0x82)).toBe(false);
    expect(isClientProtocolCommand(0x82)).toBe(true);
  });
});
