import {execFile, execFileSync} from 'node:child_process'
import {promisify} from 'node:util'
import {createHash, generateKeyPairSync} from 'node:crypto'
import {mkdtempSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {encodeJob, parseStatus, statusTopic} from '../../../src/lib/ota/contract.js'
import {newAgentStats, OtaDeviceAgent} from '../../../src/lib/ota/device-agent.js'
import {downloadWithResume} from '../../../src/lib/ota/download.js'
import {parseRange, startDownloadServer, type DownloadServer} from '../../../src/lib/ota/download-server.js'
import {NO_FAULTS, parseOtaFaults} from '../../../src/lib/ota/faults.js'
import {signManifest, verifyManifest} from '../../../src/lib/ota/manifest.js'
import {createRelease, findRelease, listReleases} from '../../../src/lib/ota/releases.js'
import {jobFor} from '../../../src/lib/ota/rollout.js'
import {compareSemver} from '../../../src/lib/ota/semver.js'
import {createReleaseKey, openReleaseKey, readReleasePublicKey} from '../../../src/lib/ota/signing-key.js'
import {overBudget, parseFailureBudget, planWaves} from '../../../src/lib/ota/waves.js'
import {buildSimulationImage} from '../../../src/lib/image/index.js'
import {appImage} from '../../support/esp-image.js'
import {serverTls, type ServerTls} from '../../support/tls.js'

const PASS = 'release key passphrase'
// the server runs in this process: the client must not block its event loop
const run = async (file: string, args: string[], binary = false) => (await promisify(execFile)(file, args, {encoding: binary ? 'buffer' : 'utf8'})).stdout

describe('versions, waves, budgets and fault specs', () => {
  it('orders versions by semver precedence', () => {
    expect(['1.10.0', '1.2.0', '1.2.0-rc.1', '1.2.0-rc.10', '1.2.0-beta', '0.9.9'].sort(compareSemver)).toEqual(['0.9.9', '1.2.0-beta', '1.2.0-rc.1', '1.2.0-rc.10', '1.2.0', '1.10.0'])
  })
  it('turns --waves into cumulative counts that end with everyone', () => {
    expect(planWaves('1,10%,50%,100%', 1000)).toEqual([1, 100, 500, 1000])
    expect(planWaves('1,10%,50%', 7)).toEqual([1, 4, 7])
    expect(planWaves('5,10%', 3)).toEqual([3])
    expect(() => planWaves('50%,10%', 100)).toThrow(/must grow/)
    expect(() => planWaves('0', 100)).toThrow(/at least 1/)
  })
  it('counts failures against a count or a share', () => {
    expect(overBudget(parseFailureBudget('2'), 2, 10)).toBe(false)
    expect(overBudget(parseFailureBudget('2'), 3, 10)).toBe(true)
    expect(overBudget(parseFailureBudget('5%'), 5, 100)).toBe(false)
    expect(overBudget(parseFailureBudget('5%'), 6, 100)).toBe(true)
  })
  it('parses --ota-faults and refuses unknown faults', () => {
    expect(parseOtaFaults('download:5%,bad-image:1%,boot-loop:2%,offline:3%')).toEqual({download: 0.05, 'bad-image': 0.01, 'boot-loop': 0.02, offline: 0.03})
    expect(() => parseOtaFaults('meteor:5%')).toThrow(/Invalid --ota-faults/)
  })
})

describe('releases: signed manifests, checked images, a tamper-evident store', () => {
  let root: string
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'iotctl-ota-'))
    await createReleaseKey(root, PASS)
  })

  it('keeps the signing key encrypted (0600) and refuses a wrong passphrase with exit 9', async () => {
    const keyFile = join(root, 'ota', 'release.key.pem')
    expect(statSync(keyFile).mode & 0o777).toBe(0o600)
    expect(readFileSync(keyFile, 'utf8')).toMatch(/BEGIN ENCRYPTED PRIVATE KEY/)
    // openssl reads it with the passphrase: standard PKCS#8, P-256
    const text = execFileSync('openssl', ['pkey', '-in', keyFile, '-passin', `pass:${PASS}`, '-noout', '-text'], {encoding: 'utf8'})
    expect(text).toMatch(/prime256v1|P-256/)
    await expect(openReleaseKey(root, 'not the passphrase')).rejects.toMatchObject({code: 'OTA_PASSPHRASE_WRONG', exit: 9})
    await expect(createReleaseKey(root, PASS)).rejects.toMatchObject({code: 'OTA_KEY_EXISTS', exit: 4})
  })

  it('packages an ESP-IDF image with a manifest whose signature openssl verifies', async () => {
    const image = appImage({chip: 'esp32', version: '1.0.0'})
    const release = await createRelease(root, {type: 'temp', version: '1.0.0', image, source: 'a.bin', passphrase: PASS, chip: 'esp32'})
    expect(release.manifest).toMatchObject({type: 'temp', kind: 'esp-app', chip: 'esp32', version: '1.0.0', sequence: 1, size: image.length, url: 'temp/1.0.0/firmware.bin'})
    expect(release.manifest.sha256).toBe(createHash('sha256').update(image).digest('hex'))
    // an independent check of the signature: openssl dgst over the exact manifest text
    const dir = mkdtempSync(join(tmpdir(), 'iotctl-sig-'))
    writeFileSync(join(dir, 'm.json'), release.signed.manifest)
    writeFileSync(join(dir, 'sig.der'), Buffer.from(release.signed.signature, 'base64'))
    const out = execFileSync('openssl', ['dgst', '-sha256', '-verify', join(root, 'ota', 'release.pub.pem'), '-signature', join(dir, 'sig.der'), join(dir, 'm.json')], {encoding: 'utf8'})
    expect(out).toMatch(/Verified OK/)
    const second = await createRelease(root, {type: 'temp', version: '1.1.0', image: appImage({chip: 'esp32', version: '1.1.0'}), source: 'b.bin', passphrase: PASS, minVersion: '1.0.0'})
    expect(second.manifest.sequence).toBe(2)
    expect(second.manifest.minVersion).toBe('1.0.0')
    expect((await listReleases(root, {verify: true})).map((r) => r.manifest.version)).toEqual(['1.0.0', '1.1.0'])
  })

  it('refuses an image for another chip, a version that does not go up, and a duplicate', async () => {
    await expect(createRelease(root, {type: 'temp', version: '2.0.0', image: appImage({chip: 'esp32c3'}), source: 'c3.bin', passphrase: PASS, chip: 'esp32'})).rejects.toMatchObject({code: 'IMAGE_CHIP_MISMATCH', exit: 6})
    await expect(createRelease(root, {type: 'temp', version: '0.9.0', image: appImage({chip: 'esp32'}), source: 'x.bin', passphrase: PASS})).rejects.toMatchObject({code: 'OTA_VERSION_NOT_NEWER'})
    await expect(createRelease(root, {type: 'temp', version: '1.1.0', image: appImage({chip: 'esp32'}), source: 'x.bin', passphrase: PASS})).rejects.toMatchObject({code: 'OTA_RELEASE_EXISTS'})
    // a simulation image reports its own type and version: released under others it could never pass a gate
    const sim = buildSimulationImage({chip: 'esp32', templateType: 'temp', version: '2.0.0'})
    await expect(createRelease(root, {type: 'temp', version: '2.1.0', image: sim, source: 'sim.bin', passphrase: PASS})).rejects.toThrow(/simulation image of version 2\.0\.0: released as 2\.1\.0/)
    await expect(createRelease(root, {type: 'light', version: '2.0.0', image: sim, source: 'sim.bin', passphrase: PASS})).rejects.toThrow(/simulation image of type temp, not light/)
    const broken = appImage({chip: 'esp32'})
    broken[40] ^= 0x55
    await expect(createRelease(root, {type: 'temp', version: '3.0.0', image: broken, source: 'broken.bin', passphrase: PASS})).rejects.toMatchObject({exit: 6})
  })

  it('finds a tampered image or manifest: exit 6', async () => {
    const release = await findRelease(root, 'temp', '1.1.0')
    const original = readFileSync(release.imageFile)
    const tampered = Buffer.from(original)
    tampered[100] ^= 1
    writeFileSync(release.imageFile, tampered)
    await expect(findRelease(root, 'temp', '1.1.0')).rejects.toMatchObject({code: 'OTA_IMAGE_TAMPERED', exit: 6})
    writeFileSync(release.imageFile, original)
    const manifestFile = join(release.dir, 'manifest.json')
    const signed = JSON.parse(readFileSync(manifestFile, 'utf8'))
    writeFileSync(manifestFile, JSON.stringify({...signed, manifest: signed.manifest.replace('"minVersion":"1.0.0"', '"minVersion":"0.0.1"')}))
    await expect(findRelease(root, 'temp', '1.1.0')).rejects.toMatchObject({code: 'OTA_BAD_SIGNATURE', exit: 6})
    writeFileSync(manifestFile, JSON.stringify(signed))
    await expect(findRelease(root, 'temp', '1.1.0')).resolves.toBeTruthy()
  })

  it('refuses a manifest signed by another key', () => {
    const other = generateKeyPairSync('ec', {namedCurve: 'P-256'})
    const forged = signManifest({format: 'iotctl-ota/1', type: 'temp', kind: 'esp-app', chip: 'esp32', version: '9.9.9', sequence: 99, size: 1, sha256: '00', url: 'x', createdAt: '', keyId: ''}, other.privateKey)
    return readReleasePublicKey(root).then((key) => expect(() => verifyManifest(forged, key)).toThrow(/does not verify/))
  })

  describe('HTTPS download server with ranges', () => {
    let tls: ServerTls
    let server: DownloadServer
    beforeAll(async () => {
      tls = await serverTls()
      server = await startDownloadServer({workspaceRoot: root, cert: tls.cert, key: tls.key, port: 0})
    })
    afterAll(() => server?.close())

    it('parses ranges as RFC 9110 says', () => {
      expect(parseRange('bytes=0-99', 1000)).toEqual([0, 99])
      expect(parseRange('bytes=900-', 1000)).toEqual([900, 999])
      expect(parseRange('bytes=-100', 1000)).toEqual([900, 999])
      expect(parseRange('bytes=1000-', 1000)).toBeNull()
      expect(parseRange('bytes=0-1,5-6', 1000)).toBeUndefined()
    })

    it('answers curl’s range request with 206 and exactly those bytes, verified against the fleet CA', async () => {
      const image = readFileSync(join(root, 'ota', 'releases', 'temp', '1.0.0', 'firmware.bin'))
      const url = `${server.url}temp/1.0.0/firmware.bin`
      const out = (await run('curl', ['-sS', '--cacert', tls.caFile, '-r', '100-', '-D', '-', '-o', '/dev/null', url])) as string
      expect(out).toMatch(/^HTTP\/1\.1 206/m)
      expect(out).toMatch(new RegExp(`content-range: bytes 100-${image.length - 1}/${image.length}`, 'i'))
      const part = (await run('curl', ['-sS', '--cacert', tls.caFile, '-r', '100-199', url], true)) as Buffer
      expect(Buffer.compare(part, image.subarray(100, 200))).toBe(0)
      const missing = await run('curl', ['-sS', '--cacert', tls.caFile, '-o', '/dev/null', '-w', '%{http_code}', `${server.url}temp/9.9.9/firmware.bin`])
      expect(missing).toBe('404')
      const escape = await run('curl', ['-sS', '--path-as-is', '--cacert', tls.caFile, '-o', '/dev/null', '-w', '%{http_code}', `${server.url}../ota/release.key.pem`])
      expect(escape).toBe('404')
    })

    it('resumes an interrupted download with Range and gets the same bytes', async () => {
      const image = readFileSync(join(root, 'ota', 'releases', 'temp', '1.0.0', 'firmware.bin'))
      const ranged = server.stats.ranged
      const half = Math.floor(image.length / 2)
      const result = await downloadWithResume({url: `${server.url}temp/1.0.0/firmware.bin`, ca: tls.ca, interruptAfter: half})
      expect(result.resumedFrom).toEqual([half])
      expect(result.attempts).toBe(2)
      expect(Buffer.compare(result.data, image)).toBe(0)
      expect(server.stats.ranged).toBe(ranged + 1)
    })

    it('a device agent takes a signed job, refuses a forged one, and reports each step', async () => {
      const published: {topic: string; payload: string}[] = []
      const publish = (topic: string, payload: string) => (published.push({topic, payload}), true)
      const stats = newAgentStats()
      const agent = new OtaDeviceAgent({id: 'd1', type: 'temp', version: '1.0.0'}, {publicKey: await readReleasePublicKey(root), ca: tls.ca, faults: NO_FAULTS, random: Math.random, rebootMs: 10}, stats)
      const release = await findRelease(root, 'temp', '1.1.0')
      const job = jobFor(release, 'update', 'r1', server.url)
      const other = generateKeyPairSync('ec', {namedCurve: 'P-256'})
      const forged = {...job, jobId: 'forged/update', ...signManifest({...release.manifest, sha256: '0'.repeat(64)}, other.privateKey)}
      const states = () => published.filter((m) => m.topic === statusTopic('d1')).map((m) => parseStatus(m.payload)!)
      agent.onMessage(Buffer.from(encodeJob(forged)), publish)
      await expect.poll(() => states().at(-1)?.state).toBe('rejected')
      expect(states().at(-1)!.error).toMatch(/signature/)
      expect(agent.version).toBe('1.0.0')
      agent.onMessage(Buffer.from(encodeJob(job)), publish)
      await expect.poll(() => states().at(-1)?.state).toBe('succeeded')
      expect(states().map((s) => s.state)).toEqual(['rejected', 'downloading', 'rebooting', 'succeeded'])
      expect(states().at(-1)).toMatchObject({jobId: 'r1/update', version: '1.1.0', previousVersion: '1.0.0', sequence: 2})
      // the same job again (a retained message after a reconnect): answered, not redone
      agent.onMessage(Buffer.from(encodeJob(job)), publish)
      expect(stats.jobs).toBe(2)
      expect(states().at(-1)!.state).toBe('succeeded')
    })

    it('with an install hook (a board with flash): installing, rebooting, then nothing until the next boot settles the held job', async () => {
      const published: string[] = []
      const publish = (_t: string, p: string) => (published.push(p), true)
      const states = () => published.map((p) => parseStatus(p)!)
      const release = await findRelease(root, 'temp', '1.1.0')
      const job = jobFor(release, 'update', 'r3', server.url)
      const installed: {version: string; bytes: number}[] = []
      const options = {publicKey: await readReleasePublicKey(root), ca: tls.ca, faults: NO_FAULTS, random: Math.random}
      const before = new OtaDeviceAgent({id: 'd3', type: 'temp', version: '1.0.0'}, {...options, install: async (_job, manifest, image) => void installed.push({version: manifest.version, bytes: image.length})}, newAgentStats())
      before.onMessage(Buffer.from(encodeJob(job)), publish)
      await expect.poll(() => states().at(-1)?.state).toBe('rebooting')
      expect(states().map((s) => s.state)).toEqual(['downloading', 'installing', 'rebooting'])
      expect(installed).toEqual([{version: '1.1.0', bytes: release.manifest.size}])
      // the same job redelivered while the board resets: not installed twice
      before.onMessage(Buffer.from(encodeJob(job)), publish)
      expect(installed).toHaveLength(1)

      // after the reset: the new image holds the job until it has proven itself, then settles it
      published.length = 0
      const after = new OtaDeviceAgent({id: 'd3', type: 'temp', version: '1.1.0', sequence: 1}, {...options, install: async () => void installed.push({version: 'again', bytes: 0})}, newAgentStats(), {holding: job.jobId, last: {jobId: job.jobId, state: 'verifying', version: '1.1.0', ts: 1}})
      after.onConnected(publish)
      after.onMessage(Buffer.from(encodeJob(job)), publish)
      // another job arriving meanwhile waits for the hold to end
      const older = jobFor(await findRelease(root, 'temp', '1.0.0'), 'update', 'r4', server.url)
      after.onMessage(Buffer.from(encodeJob(older)), publish)
      expect(states().map((s) => s.state)).toEqual(['verifying'])
      after.sequence = 2
      after.settle({jobId: job.jobId, state: 'succeeded', version: '1.1.0', sequence: 2, previousVersion: '1.0.0', ts: 2})
      expect(states()[1]).toMatchObject({jobId: 'r3/update', state: 'succeeded', version: '1.1.0'})
      // …then runs: 1.0.0's sequence 1 is below the running 2
      await expect.poll(() => states().at(-1)?.jobId).toBe('r4/update')
      expect(states().at(-1)).toMatchObject({state: 'rejected', error: expect.stringMatching(/anti-rollback/)})
      expect(installed).toHaveLength(1)

      // an install that fails (the image does not fit its slot) is a failed job, and the next job may run
      published.length = 0
      const full = new OtaDeviceAgent({id: 'd4', type: 'temp', version: '1.0.0'}, {...options, install: async () => Promise.reject(new Error('the image does not fit ota_0'))}, newAgentStats())
      full.onMessage(Buffer.from(encodeJob(job)), publish)
      await expect.poll(() => states().at(-1)?.state).toBe('failed')
      expect(states().at(-1)!.error).toBe('install: the image does not fit ota_0')
      expect(full.version).toBe('1.0.0')
    })

    it('a corrupted download fails the SHA-256 check and the device stays on its version', async () => {
      const published: string[] = []
      const stats = newAgentStats()
      const agent = new OtaDeviceAgent({id: 'd2', type: 'temp', version: '1.0.0'}, {publicKey: await readReleasePublicKey(root), ca: tls.ca, faults: {...NO_FAULTS, 'bad-image': 1}, random: Math.random, rebootMs: 10}, stats)
      agent.onMessage(Buffer.from(encodeJob(jobFor(await findRelease(root, 'temp', '1.1.0'), 'update', 'r2', server.url))), (_t, p) => (published.push(p), true))
      await expect.poll(() => parseStatus(published.at(-1) ?? '{}')?.state).toBe('failed')
      expect(parseStatus(published.at(-1)!)!.error).toMatch(/SHA-256/)
      expect(agent.version).toBe('1.0.0')
    })
  })
})
