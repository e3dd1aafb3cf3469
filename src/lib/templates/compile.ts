import {dirname, relative, resolve} from 'node:path'
import {ExitCode, IotctlError} from '../console/errors.js'
import {templateApiFiles} from './package-root.js'

export interface CompiledTemplate {
  /** the ESM module text */
  code: string
  /** absolute paths of every file bundled into it (the template, its helpers, the API module) */
  inputs: string[]
}

/**
 * Bundle a template.ts (and whatever it imports) into one ESM module with esbuild. The
 * `iotctl/template` import is pointed at our own define module, so user templates need no
 * node_modules of their own. esbuild is loaded here, only when a template must be (re)compiled.
 */
export async function compileTemplate(file: string): Promise<CompiledTemplate> {
  const esbuild = await import('esbuild')
  const api = templateApiFiles()
  const cwd = dirname(file)
  try {
    const result = await esbuild.build({
      entryPoints: [file],
      absWorkingDir: cwd,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      write: false,
      metafile: true,
      logLevel: 'silent',
      legalComments: 'none',
      plugins: [
        {
          name: 'iotctl-template-api',
          setup(build) {
            build.onResolve({filter: /^iotctl\/template$/}, () => ({path: api.runtime}))
          },
        },
      ],
    })
    const inputs = Object.keys(result.metafile.inputs).map((input) => resolve(cwd, input))
    return {code: result.outputFiles[0].text, inputs}
  } catch (error) {
    const failure = error as {errors?: {text: string; location?: {file: string; line: number; column: number} | null}[]}
    const first = failure.errors?.[0]
    if (!first) throw error
    const where = first.location ? `${resolve(cwd, first.location.file)}:${first.location.line}:${first.location.column + 1}` : file
    throw new IotctlError(`Cannot compile ${where}: ${first.text}`, {
      code: 'TEMPLATE_COMPILE_ERROR',
      exit: ExitCode.USAGE,
      suggestions: [`Fix ${relative(process.cwd(), file) || file} and run the command again`],
      details: {
        errors: failure.errors?.map((e) => ({
          message: e.text,
          file: e.location ? resolve(cwd, e.location.file) : undefined,
          line: e.location?.line,
          column: e.location ? e.location.column + 1 : undefined,
        })),
      },
    })
  }
}
