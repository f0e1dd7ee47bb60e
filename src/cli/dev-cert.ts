// `annal serve --dev-cert`: a self-signed certificate for localhost, made at start-up, so TLS can
// be tried without a certificate authority. Clients must skip verification or trust it explicitly.

import selfsigned from 'selfsigned';

export interface DevCertificate {
  readonly cert: string;
  readonly key: string;
  readonly fingerprint: string;
}

/** Valid for DEV_CERT_DAYS days, for the names localhost and 127.0.0.1. */
export const DEV_CERT_DAYS = 30;

export async function makeDevCertificate(): Promise<DevCertificate> {
  const notBeforeDate = new Date();
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    notBeforeDate,
    notAfterDate: new Date(notBeforeDate.getTime() + DEV_CERT_DAYS * 24 * 3600 * 1000),
    keySize: 2048,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  return { cert: pems.cert, key: pems.private, fingerprint: pems.fingerprint };
}
