window.YTD.direct_messages.part0 = [
  {
    "dmConversation" : {
      "conversationId" : "1029294739813302279-1130543749395382273",
      "messages" : [
        {
          "messageCreate" : {
            "recipientId" : "1130543749395382273",
            "reactions" : [ ],
            "urls" : [
              {
                "url" : "https://t.co/U0W6RGtvlG",
                "expanded" : "https://www.instagram.com/p/DF7xq2aNm4K/",
                "display" : "instagram.com/p/DF7xq2aNm4K/"
              }
            ],
            "text" : "you put your heel above your head and pull with it. It's exactly as elegant as it sounds https://t.co/U0W6RGtvlG",
            "mediaUrls" : [ ],
            "senderId" : "1029294739813302279",
            "id" : "2020259906581430281",
            "createdAt" : "2026-02-07T22:14:31.333Z"
          }
        },
        {
          "messageCreate" : {
            "recipientId" : "1029294739813302279",
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "saw the 7a post!! now explain what a heel hook is, slowly",
            "mediaUrls" : [ ],
            "senderId" : "1130543749395382273",
            "id" : "2020258769925046280",
            "createdAt" : "2026-02-07T22:10:00.296Z"
          }
        },
        {
          "messageCreate" : {
            "recipientId" : "1130543749395382273",
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "printed?? on paper?? I'm famous",
            "mediaUrls" : [ ],
            "senderId" : "1029294739813302279",
            "id" : "1963287303812022279",
            "createdAt" : "2025-09-03T17:05:44.259Z"
          }
        },
        {
          "messageCreate" : {
            "recipientId" : "1029294739813302279",
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "your focus states post is going around the studio, Rita printed it",
            "mediaUrls" : [ ],
            "senderId" : "1130543749395382273",
            "id" : "1963286150378422278",
            "createdAt" : "2025-09-03T17:01:09.222Z"
          }
        },
        {
          "messageCreate" : {
            "recipientId" : "1130543749395382273",
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "coming!! saving me a nata is the least a 1:49 runner can do",
            "mediaUrls" : [ ],
            "senderId" : "1029294739813302279",
            "id" : "1903809791390646277",
            "createdAt" : "2025-03-23T14:03:20.185Z"
          }
        },
        {
          "messageCreate" : {
            "recipientId" : "1029294739813302279",
            "reactions" : [
              {
                "senderId" : "1029294739813302279",
                "reactionKey" : "funny",
                "eventId" : "1903809707504566276",
                "createdAt" : "2025-03-23T14:03:00.000Z"
              }
            ],
            "urls" : [ ],
            "text" : "stop tweeting and come eat, we're at the pastelaria by the Mosteiro",
            "mediaUrls" : [ ],
            "senderId" : "1130543749395382273",
            "id" : "1903809501983670275",
            "createdAt" : "2025-03-23T14:02:11.111Z"
          }
        },
        {
          "messageCreate" : {
            "recipientId" : "1130543749395382273",
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "ugh fine. 8:00 at the kiosk",
            "mediaUrls" : [ ],
            "senderId" : "1029294739813302279",
            "id" : "1898836563194806274",
            "createdAt" : "2025-03-09T20:41:30.074Z"
          }
        },
        {
          "messageCreate" : {
            "recipientId" : "1029294739813302279",
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "grumpy yes, skipping the long run no 😤",
            "mediaUrls" : [ ],
            "senderId" : "1130543749395382273",
            "id" : "1898836194096054273",
            "createdAt" : "2025-03-09T20:40:02.037Z"
          }
        }
      ]
    }
  },
  {
    "dmConversation" : {
      "conversationId" : "1029294739813302279-1228333070545846276",
      "messages" : [
        {
          "messageCreate" : {
            "recipientId" : "1228333070545846276",
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "Obrigada!!",
            "mediaUrls" : [ ],
            "senderId" : "1029294739813302279",
            "id" : "1995820741555126285",
            "createdAt" : "2025-12-02T11:42:00.481Z"
          }
        },
        {
          "messageCreate" : {
            "recipientId" : "1029294739813302279",
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "Olá Maya! It stays until the end of February, promise 💜 boa sorte!",
            "mediaUrls" : [ ],
            "senderId" : "1228333070545846276",
            "id" : "1995820351484854284",
            "createdAt" : "2025-12-02T11:40:27.444Z"
          }
        },
        {
          "messageCreate" : {
            "recipientId" : "1228333070545846276",
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "Olá! Quick question: is the purple roof problem staying after Thursday's re-setting? I've been projecting it for weeks 🙏",
            "mediaUrls" : [ ],
            "senderId" : "1029294739813302279",
            "id" : "1995783760376758283",
            "createdAt" : "2025-12-02T09:15:03.407Z"
          }
        }
      ]
    }
  }
]