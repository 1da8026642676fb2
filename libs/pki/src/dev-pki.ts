import { rm } from 'node:fs/promises';
import path from 'node:path';

import {
  certificateMatchesKey,
  isIssuedBy,
  issueCaCertificate,
  issueLeafCertificate,
  type CertificateAuthority,
  type LeafRole,
} from './certificates';
import { PkiError } from './errors';
import { ensureDirectory, PUBLIC_FILE_MODE, readIfExists, SECRET_FILE_MODE, writeNewFile } from './files';
import { generatePrivateKeyPem } from './keys';
import {
  DEFAULT_ENTROPY_SERVER_IDS,
  DEFAULT_KME_IDS,
  DEFAULT_SAE_IDS,
  validateIdentities,
  type PkiIdentities,
} from './names';
import {
  CA_CERTIFICATE_FILE,
  CA_KEY_FILE,
  certificateFile,
  pkcs12File,
  privateKeyFile,
  sealingIdentityFile,
  sealingPublicKeysFile,
} from './paths';
import { buildPkcs12 } from './pkcs12';
import {
  encodeSealingIdentity,
  encodeSealingPublicKeys,
  generateSealingIdentity,
  parseSealingIdentity,
  parseSealingPublicKeys,
} from './sealing-identity';

export interface DevPkiOptions extends Partial<PkiIdentities> {
  readonly dir: string;
}

/** File names (relative to `dir`) this run wrote, and those it found and left untouched. */
export interface DevPkiReport {
  readonly dir: string;
  readonly created: string[];
  readonly kept: string[];
}

interface Leaf {
  readonly id: string;
  readonly role: LeafRole;
}

/**
 * Creates whatever is missing of the development PKI in `dir` and keeps every file already there, so that
 * running it again (say with one more SAE) only adds. A missing leaf is signed by the existing CA. One
 * exception: when `<sae>.pem` is missing, the reissued certificate also replaces `<sae>.p12`, which held
 * the old certificate (and maybe an old key).
 */
export async function ensureDevPki(options: DevPkiOptions): Promise<DevPkiReport> {
  const identities: PkiIdentities = {
    kmes: options.kmes ?? DEFAULT_KME_IDS,
    saes: options.saes ?? DEFAULT_SAE_IDS,
    entropyServers: options.entropyServers ?? DEFAULT_ENTROPY_SERVER_IDS,
  };
  validateIdentities(identities);
  const dir = path.resolve(options.dir);
  await ensureDirectory(dir);
  const report: DevPkiReport = { dir, created: [], kept: [] };
  const files = new PkiFolder(dir, report);

  const leaves: Leaf[] = [
    ...identities.kmes.map((id) => ({ id, role: 'kme' as const })),
    ...identities.entropyServers.map((id) => ({ id, role: 'entropy-server' as const })),
    ...identities.saes.map((id) => ({ id, role: 'sae' as const })),
  ];
  const ca = await ensureCertificateAuthority(files);
  await Promise.all(leaves.map((leaf) => ensureLeaf(files, ca, leaf)));
  // Entropy servers seal and sign the samples they hand out, so they get an identity like a KME's.
  for (const id of [...identities.kmes, ...identities.entropyServers]) {
    await ensureSealingIdentity(files, id);
  }
  // Leaves are made in parallel; sorting keeps the report the same from one run to the next.
  report.created.sort();
  report.kept.sort();
  return report;
}

class PkiFolder {
  constructor(
    readonly dir: string,
    private readonly report: DevPkiReport,
  ) {}

  async read(name: string): Promise<string | undefined> {
    const content = await readIfExists(path.join(this.dir, name));
    return content?.toString('utf8');
  }

  async exists(name: string): Promise<boolean> {
    return (await readIfExists(path.join(this.dir, name))) !== undefined;
  }

  async create(name: string, data: string | Uint8Array, mode: number): Promise<void> {
    await writeNewFile(path.join(this.dir, name), data, mode);
    this.report.created.push(name);
  }

  keep(name: string): void {
    this.report.kept.push(name);
  }

  /** Deletes a file that is about to be created again (and reported as created then). */
  async remove(name: string): Promise<void> {
    await rm(path.join(this.dir, name), { force: true });
  }
}

interface AvailableCa {
  readonly certificatePem: string;
  /** Absent when only ca.pem was provided, which is enough as long as no leaf needs signing. */
  readonly privateKeyPem?: string;
}

async function ensureCertificateAuthority(files: PkiFolder): Promise<AvailableCa> {
  let privateKeyPem = await files.read(CA_KEY_FILE);
  let certificatePem = await files.read(CA_CERTIFICATE_FILE);
  if (privateKeyPem === undefined) {
    if (certificatePem !== undefined) {
      files.keep(CA_CERTIFICATE_FILE);
      return { certificatePem };
    }
    privateKeyPem = await generatePrivateKeyPem();
    await files.create(CA_KEY_FILE, privateKeyPem, SECRET_FILE_MODE);
  } else {
    files.keep(CA_KEY_FILE);
  }
  if (certificatePem === undefined) {
    certificatePem = issueCaCertificate(privateKeyPem);
    await files.create(CA_CERTIFICATE_FILE, certificatePem, PUBLIC_FILE_MODE);
  } else {
    if (!certificateMatchesKey(certificatePem, privateKeyPem)) {
      throw new PkiError('incomplete-files', `${CA_CERTIFICATE_FILE} does not belong to ${CA_KEY_FILE}`);
    }
    files.keep(CA_CERTIFICATE_FILE);
  }
  return { certificatePem, privateKeyPem };
}

async function ensureLeaf(files: PkiFolder, ca: AvailableCa, leaf: Leaf): Promise<void> {
  const keyName = privateKeyFile(leaf.id);
  const certName = certificateFile(leaf.id);
  let privateKeyPem = await files.read(keyName);
  let certificatePem = await files.read(certName);
  const issued = certificatePem === undefined;
  if (certificatePem === undefined) {
    const signer = signingAuthority(ca, certName);
    if (privateKeyPem === undefined) {
      privateKeyPem = await generatePrivateKeyPem();
      await files.create(keyName, privateKeyPem, SECRET_FILE_MODE);
    } else {
      // A kept key with no certificate: deleting only <id>.pem renews a certificate without changing its key.
      files.keep(keyName);
    }
    certificatePem = issueLeafCertificate(signer, { ...leaf, privateKeyPem });
    await files.create(certName, certificatePem, PUBLIC_FILE_MODE);
  } else {
    if (privateKeyPem === undefined) {
      throw new PkiError(
        'incomplete-files',
        `${certName} exists without ${keyName}; remove it to reissue both`,
      );
    }
    if (!isIssuedBy(certificatePem, ca.certificatePem)) {
      throw new PkiError(
        'foreign-certificate',
        `${certName} was not issued by ${CA_CERTIFICATE_FILE}; remove it to have it reissued`,
      );
    }
    if (!certificateMatchesKey(certificatePem, privateKeyPem)) {
      throw new PkiError('incomplete-files', `${certName} does not belong to ${keyName}`);
    }
    files.keep(keyName);
    files.keep(certName);
  }
  if (leaf.role === 'sae') {
    await ensurePkcs12(files, leaf.id, privateKeyPem, certificatePem, ca.certificatePem, issued);
  }
}

function signingAuthority(ca: AvailableCa, certName: string): CertificateAuthority {
  if (ca.privateKeyPem === undefined) {
    throw new PkiError(
      'incomplete-files',
      `${CA_CERTIFICATE_FILE} exists without ${CA_KEY_FILE}, so ${certName} cannot be signed`,
    );
  }
  return { certificatePem: ca.certificatePem, privateKeyPem: ca.privateKeyPem };
}

async function ensurePkcs12(
  files: PkiFolder,
  saeId: string,
  privateKeyPem: string,
  certificatePem: string,
  caCertificatePem: string,
  /** The certificate was issued just now: a kept bundle holds the one it replaced (and maybe its old key). */
  reissued: boolean,
): Promise<void> {
  const name = pkcs12File(saeId);
  if (await files.exists(name)) {
    if (!reissued) {
      files.keep(name);
      return;
    }
    await files.remove(name);
  }
  const bundle = buildPkcs12({ friendlyName: saeId, privateKeyPem, certificatePem, caCertificatePem });
  await files.create(name, bundle, SECRET_FILE_MODE);
}

async function ensureSealingIdentity(files: PkiFolder, kmeId: string): Promise<void> {
  const secretName = sealingIdentityFile(kmeId);
  const publicName = sealingPublicKeysFile(kmeId);
  const secretText = await files.read(secretName);
  const publicText = await files.read(publicName);
  if (secretText === undefined) {
    if (publicText !== undefined) {
      throw new PkiError(
        'incomplete-files',
        `${publicName} exists without ${secretName}; remove it to reissue both`,
      );
    }
    const identity = generateSealingIdentity(kmeId);
    await files.create(secretName, encodeSealingIdentity(identity), SECRET_FILE_MODE);
    await files.create(publicName, encodeSealingPublicKeys(identity), PUBLIC_FILE_MODE);
    return;
  }
  const identity = parseSealingIdentity(secretText, secretName);
  if (identity.kmeId !== kmeId) {
    throw new PkiError(
      'invalid-sealing-identity',
      `${secretName} belongs to ${identity.kmeId}, not ${kmeId}`,
    );
  }
  files.keep(secretName);
  if (publicText === undefined) {
    await files.create(publicName, encodeSealingPublicKeys(identity), PUBLIC_FILE_MODE);
    return;
  }
  const published = parseSealingPublicKeys(publicText, publicName);
  if (
    published.kmeId !== identity.kmeId ||
    !Buffer.from(published.kemPublicKey).equals(identity.kemPublicKey) ||
    !Buffer.from(published.sigPublicKey).equals(identity.sigPublicKey)
  ) {
    throw new PkiError(
      'invalid-sealing-identity',
      `${publicName} does not hold the public keys of ${secretName}`,
    );
  }
  files.keep(publicName);
}
