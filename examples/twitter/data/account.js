window.YTD.account.part0 = [
  {
    "account" : {
      "email" : "maya.lindqvist@gmail.com",
      "createdVia" : "web",
      "username" : "mayalindq",
      "accountId" : "1029294739813302279",
      "createdAt" : "2018-08-14T09:12:44.000Z",
      "accountDisplayName" : "Maya Lindqvist"
    }
  }
]