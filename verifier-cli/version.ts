/** Which software the CLI is (documents/software.ts finds it; the node uses the same). */

export {
  PACKAGE_NAME,
  softwareVersion as cliVersion,
  type SoftwareVersion,
} from '../documents/software';
