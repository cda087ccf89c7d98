/** The commands the sandbox replaces with stub.sh (see sandbox.ts). */
export const STUB_COMMANDS = [
  'uname', 'curl', 'apt-get', 'apt-mark', 'dnf', 'dpkg-query', 'rpm', 'systemctl', 'snap', 'ssh-keygen',
  'aws', 'docker', 'docker-credential-ecr-login', 'gitlab-runner', 'cloud-init', 'sleep', 'docker-machine',
] as const;
