// openroom sample mini-program: enter a room on an openroom server and talk.
App({
  globalData: {
    defaultServerURL: 'https://rooms.example.com',
  },
})
