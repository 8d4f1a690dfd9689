/** The service's version; test/version.test.ts keeps it equal to package.json's. */
export const SERVICE_VERSION = '0.1.0';

/** What every outgoing HTTP call names itself, so Interlace and a proxy's logs can tell it apart. */
export const USER_AGENT = `interlace-sweep/${SERVICE_VERSION}`;
