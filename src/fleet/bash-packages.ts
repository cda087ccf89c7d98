/**
 * Package-manager helpers for the scripts that may install packages (the manager bootstrap and the
 * verify worker's user data), on apt (Ubuntu) or dnf (Amazon Linux 2023). Written as TypeScript
 * strings: `\${` is a literal bash `${`.
 */
export const PACKAGE_FUNCTIONS = `
APT_UPDATED=false

# The installed version of package $1, or nothing.
pkg_version() {
  local out
  if [ "$PKG" = apt ]; then
    out=$(dpkg-query -W -f='\${Version}' "$1" 2>/dev/null) || return 0
  else
    out=$(rpm -q --qf '%{VERSION}-%{RELEASE}' "$1" 2>/dev/null) || return 0
  fi
  printf '%s' "$out"
}

pkg_install() {
  if [ "$PKG" = apt ]; then
    if [ "$APT_UPDATED" = false ]; then
      run apt-get update
      APT_UPDATED=true
    fi
    DEBIAN_FRONTEND=noninteractive run apt-get install -y --allow-change-held-packages "$@"
  else
    run dnf install -y "$@"
  fi
}

# Docker engine as Docker Machine's provisioner installs it: Docker's get.docker.com script on
# Ubuntu (docker-ce from Docker's signed repository); Amazon Linux 2023's own docker package.
install_docker() {
  if [ -n "$(pkg_version docker-ce)$(pkg_version docker.io)$(pkg_version docker)" ]; then
    printf 'docker engine already installed\\n' >>"$LOG"
  elif [ "$PKG" = apt ]; then
    local script
    script=$(mktemp)
    fetch https://get.docker.com "$script"
    run sh "$script"
    rm -f "$script"
    note_change 'docker engine'
  else
    pkg_install docker
    note_change 'docker engine'
  fi
  if ! systemctl is-enabled --quiet docker; then
    run systemctl enable --now docker
    note_change 'docker service'
  fi
}
`;
