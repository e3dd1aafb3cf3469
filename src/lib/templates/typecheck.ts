import {createRequire} from 'node:module'
import {dirname, join, resolve} from 'node:path'
import {ExitCode, IotctlError} from '../console/errors.js'
import {packageRoot, templateApiFiles} from './package-root.js'

export interface TemplateDiagnostic {
  file?: string
  line?: number
  column?: number
  code: number
  message: string
}

/** Folder holding @types/node as iotctl sees it (hoisted or not), if it is installed at all. */
function nodeTypesRoot(): string | undefined {
  try {
    const require = createRequire(join(packageRoot(), 'package.json'))
    return dirname(dirname(require.resolve('@types/node/package.json')))
  } catch {
    return undefined
  }
}

/**
 * Type-check one template with the TypeScript compiler API, the way an editor would see it:
 * strict mode, `iotctl/template` mapped to iotctl's own declarations. Returns the diagnostics of
 * the template's files (iotctl's own files are not the author's concern).
 */
export async function typecheckTemplate(file: string): Promise<TemplateDiagnostic[]> {
  const {default: ts} = await import('typescript')
  const api = templateApiFiles()
  if (!api.types) return [] // an install without declarations: the run-time validation still applies
  const typesRoot = nodeTypesRoot()
  const options: import('typescript').CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2023.d.ts'],
    skipLibCheck: true,
    esModuleInterop: true,
    resolveJsonModule: true,
    allowImportingTsExtensions: true,
    typeRoots: typesRoot ? [typesRoot] : [],
    types: typesRoot ? ['node'] : [],
    paths: {'iotctl/template': [api.types]},
  }
  const program = ts.createProgram({rootNames: [resolve(file)], options})
  const own = resolve(dirname(api.types))
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => !d.file || !resolve(d.file.fileName).startsWith(own))
  return diagnostics.map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n')
    if (!d.file || d.start === undefined) return {code: d.code, message}
    const {line, character} = d.file.getLineAndCharacterOfPosition(d.start)
    return {file: resolve(d.file.fileName), line: line + 1, column: character + 1, code: d.code, message}
  })
}

export function typeError(file: string, diagnostics: TemplateDiagnostic[]): IotctlError {
  const where = (d: TemplateDiagnostic) => (d.file ? `${d.file}:${d.line}:${d.column}` : file)
  const lines = diagnostics.slice(0, 5).map((d) => `  ${where(d)} - error TS${d.code}: ${d.message}`)
  if (diagnostics.length > 5) lines.push(`  … and ${diagnostics.length - 5} more`)
  const first = diagnostics[0]
  return new IotctlError(`Template ${where(first)} has ${diagnostics.length} type error${diagnostics.length === 1 ? '' : 's'}:\n${lines.join('\n')}`, {
    code: 'TEMPLATE_TYPE_ERROR',
    exit: ExitCode.USAGE,
    suggestions: [`Fix ${file} (open it in an editor with TypeScript to see the errors in place)`],
    details: {file, diagnostics},
  })
}
