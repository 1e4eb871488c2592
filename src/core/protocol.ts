/**
 * MOSN's upstream protocol `Auto`: speak upstream whatever the request arrived in (its `protocol`), as
 * MOSN's `getUpstreamProtocol` turns Auto into the downstream protocol. Not a codec name. Here, not in
 * config/, because the router compares against it on the data path and a worker must not load config/'s
 * parser and validator to get one string.
 */
export const AUTO_PROTOCOL = "Auto";
