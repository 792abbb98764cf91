package chat

import "github.com/lanchat/lanchat/internal/cputime"

var processCPU = cputime.Process
