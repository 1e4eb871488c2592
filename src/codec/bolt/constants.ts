/** Bolt wire constants (SOFA bolt v1 code 0x01, v2 code 0x02) and status mappings. */

export const PROTOCOL_V1 = 0x01;
export const PROTOCOL_V2 = 0x02;

/** v2 ver1: 1 = plain frames; 2 = a frame whose switch byte asks for it carries a CRC-32 trailer. */
export const VER1_PLAIN = 1;
export const VER1_CRC = 2;
/** Bit 0 of the v2 switch byte (SOFA bolt's ProtocolSwitch.CRC_SWITCH_INDEX). */
export const SWITCH_CRC = 0x01;

export const TYPE_RESPONSE = 0;
export const TYPE_REQUEST = 1;
export const TYPE_ONEWAY = 2;

export const CMD_HEARTBEAT = 0;
export const CMD_REQUEST = 1;
export const CMD_RESPONSE = 2;
export const CMD_GOAWAY = 100;

/** Codec byte for hessian2, used on frames meshctl builds itself. */
export const CODEC_HESSIAN2 = 1;

export const STATUS_SUCCESS = 0;
export const STATUS_ERROR = 1;
export const STATUS_SERVER_EXCEPTION = 2;
export const STATUS_UNKNOWN = 3;
export const STATUS_THREADPOOL_BUSY = 4;
export const STATUS_NO_PROCESSOR = 6;
export const STATUS_TIMEOUT = 7;
export const STATUS_CODEC_EXCEPTION = 9;
export const STATUS_CONNECTION_CLOSED = 16;

/** The request header is 22 bytes in v1 and 24 in v2; a response header 20 and 22. */
export const MAX_HEADER_BYTES = 24;

/** The header map's length field is a u16. */
export const MAX_HEADER_MAP_BYTES = 0xffff;

/** Bolt status → the HTTP-like status stats and access logs use. */
export function boltStatusToHttp(status: number): number {
  switch (status) {
    case STATUS_SUCCESS:
      return 200;
    case STATUS_THREADPOOL_BUSY:
      return 503;
    case STATUS_TIMEOUT:
      return 504;
    case STATUS_CONNECTION_CLOSED:
      return 502;
    default:
      return 500;
  }
}

/**
 * A local (HTTP-like) code → bolt status, as MOSN's Mapping plus the table in protocols.md.
 * `codecError` marks a decode/encode failure (CODEC_EXCEPTION whatever the code).
 */
export function httpToBoltStatus(httpStatus: number, version: 1 | 2, codecError = false): number {
  if (codecError) return STATUS_CODEC_EXCEPTION;
  switch (httpStatus) {
    case 200:
      return STATUS_SUCCESS;
    case 404:
    case 502:
      return STATUS_NO_PROCESSOR;
    case 503:
      return STATUS_THREADPOOL_BUSY;
    case 504:
      return STATUS_TIMEOUT;
    case 403:
      // v1 reports a forbidden call as SERVER_EXCEPTION, v2 as UNKNOWN (protocols.md).
      return version === 1 ? STATUS_SERVER_EXCEPTION : STATUS_UNKNOWN;
    default:
      return STATUS_UNKNOWN;
  }
}
