package session

import "github.com/lanchat/lanchat/internal/cputime"

var cpuTime = cputime.Process
